/**
 * `boros doctor`'s report as text for a terminal.
 * @module
 */
import type { DoctorReport } from './doctor-report.js'

export function formatBytes(n: number | null): string {
  if (n === null) return 'unlimited'
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`
  return `${n} bytes`
}

function yesNo(v: boolean | null, yes = 'yes', no = 'no', unknown = 'unknown'): string {
  return v === null ? unknown : v ? yes : no
}

/** The report as text for a terminal. */
export function formatReport(r: DoctorReport): string {
  const lines: string[] = []
  const row = (k: string, v: string): void => {
    lines.push(`  ${k.padEnd(20)} ${v}`)
  }
  lines.push(`boros doctor${r.boros.version !== null ? ` (boros ${r.boros.version})` : ''}`)
  lines.push('')
  row('kernel', `${r.kernel.release} (needs >= ${r.kernel.minimum}: ${yesNo(r.kernel.newEnough, 'ok', 'TOO OLD')})`)
  row(
    'node',
    `${r.node.version}${r.node.runtime !== 'node' ? ` (runtime: ${r.node.runtime}, UNSUPPORTED)` : ''} (needs >= ${r.node.minimum}: ${yesNo(r.node.newEnough, 'ok', 'TOO OLD')})`
  )
  row('libuv', r.node.uv ?? 'unknown')
  row('N-API', r.node.napi ?? 'unknown')
  row('native addon', r.addon.loaded ? `loaded${r.addon.file !== null ? ` (${r.addon.file})` : ''}` : 'NOT LOADED')
  for (const e of r.addon.errors) lines.push(`  ${''.padEnd(20)}   ${e}`)
  row('seccomp filter', yesNo(r.ioUring.seccompFiltered, 'active', 'none'))
  row(
    'io_uring_disabled',
    r.ioUring.ioUringDisabled === null
      ? 'n/a (no such sysctl: kernel < 6.6)'
      : `${r.ioUring.ioUringDisabled} (${['allowed for all', 'only io_uring_group / CAP_SYS_ADMIN', 'disabled for all'][r.ioUring.ioUringDisabled] ?? 'unknown value'})`
  )
  row(
    'RLIMIT_MEMLOCK',
    r.memlock === null ? 'unknown' : `soft ${formatBytes(r.memlock.soft)}, hard ${formatBytes(r.memlock.hard)}`
  )
  row('io_uring', r.ok ? 'usable' : 'NOT USABLE')
  if (r.wakeUp !== null) {
    const ms = (v: number | null): string => (v === null ? 'n/a' : `${v < 1 ? v.toFixed(3) : v.toFixed(1)} ms`)
    row(
      'socket wake-up',
      `${ms(r.wakeUp.coopMs)} (COOP_TASKRUN, used); DEFER_TASKRUN ${ms(r.wakeUp.deferMs)}${r.wakeUp.deferDelayed ? ' \u2014 DELAYED on this kernel' : ''}`
    )
  }
  if (!r.ok) for (const why of r.ioUring.reasons) lines.push(`  ${''.padEnd(20)} - ${why}`)
  row(
    'backend',
    r.backend.name === 'io_uring'
      ? 'io_uring'
      : `fallback (node:fs)${
          r.backend.reason === null
            ? ''
            : r.backend.reason === r.ioUring.setupError
              ? ', because the ring setup failed (above)'
              : `: ${r.backend.reason}`
        }`
  )
  row(
    'drop-in mode',
    r.register.active
      ? `active (boros/register: node:fs/promises is boros/fs in this process${r.register.inNodeOptions ? ', set in NODE_OPTIONS' : ''})`
      : 'not active (run your app with `node --import boros/register app.js` to swap node:fs/promises for boros/fs)'
  )
  lines.push('')
  if (r.ops.length === 0) {
    lines.push('  io_uring operations: unknown (no native addon to probe them)')
  } else {
    lines.push(`  ${'operation'.padEnd(18)} ${'kernel'.padEnd(7)} here`)
    for (const o of r.ops) {
      const here =
        o.supported === null
          ? `unknown (no ring; by kernel version: ${yesNo(o.kernelIsNewEnough)})`
          : o.supported
            ? 'yes'
            : 'NO'
      lines.push(`  ${o.name.padEnd(18)} ${o.since.padEnd(7)} ${here}`)
    }
  }
  if (r.net.length > 0) {
    lines.push('')
    lines.push(`  ${'boros/net uses'.padEnd(46)} ${'op'.padEnd(13)} ${'kernel'.padEnd(7)} here`)
    for (const f of r.net) {
      const here = f.supported === null ? 'unknown' : f.supported ? 'yes' : 'NO'
      lines.push(`  ${f.feature.padEnd(46)} ${f.op.padEnd(13)} ${f.since.padEnd(7)} ${here}`)
    }
  }
  if (r.warnings.length > 0) {
    lines.push('')
    for (const w of r.warnings) lines.push(`  warning: ${w}`)
  }
  lines.push('')
  lines.push(
    r.ok
      ? 'io_uring is usable: boros will use it' +
          (r.backend.forced ? ' (but BOROS_BACKEND=fallback forces the fallback)' : '') +
          '.'
      : 'io_uring is NOT usable here: boros will run on its node:fs fallback (slower).'
  )
  return lines.join('\n')
}
