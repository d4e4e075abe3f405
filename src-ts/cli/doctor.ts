/**
 * `boros doctor`: tells whether boros can use io_uring on this machine, and if not, why.
 *
 * Works without the native addon (then says why it did not load). Exit code 0 when io_uring is
 * usable, 1 when it is not (boros then runs on its node:fs fallback), 2 on a usage error.
 * @module
 */
import { readFileSync } from 'node:fs'
import { release } from 'node:os'
import { join } from 'node:path'
import { nativeBinding } from '../binding.js'
import { runtime } from '../runtime.js'
import { registerState } from '../register.js'

/** The oldest kernel boros sets a ring up on (IORING_SETUP_DEFER_TASKRUN, SINGLE_ISSUER). */
export const MIN_KERNEL = '6.1'
/** The oldest Node release boros supports (package.json `engines`). */
export const MIN_NODE = '20.19'

/** One io_uring operation boros uses. */
export interface DoctorOp {
  readonly name: string
  /** The kernel release that added it. */
  readonly since: string
  /** Whether this kernel has it; `null` when no ring could be set up to ask. */
  readonly supported: boolean | null
  /** Whether the running kernel's version is at least `since`. */
  readonly kernelIsNewEnough: boolean | null
}

/** One io_uring feature `boros/net` uses, with the opcode it rides on and the kernel it needs. */
export interface DoctorNetFeature {
  /** What boros/net uses it for. */
  readonly feature: string
  /** The io_uring opcode. */
  readonly op: string
  /** The kernel release that added the feature (a multishot flag can come after its opcode). */
  readonly since: string
  /** Whether this kernel has it (the opcode probed, and the kernel new enough for the flag). */
  readonly supported: boolean | null
}

/** What `boros/net` needs, feature by feature. */
export const NET_FEATURES: ReadonlyArray<{ feature: string; op: string; since: string }> = [
  { feature: 'multishot accept (one SQE per listener)', op: 'accept', since: '5.19' },
  { feature: 'multishot recv into a provided-buffer ring', op: 'recv', since: '6.0' },
  { feature: 'connect', op: 'connect', since: '5.5' },
  { feature: 'send (one buffer)', op: 'send', since: '5.6' },
  { feature: 'sendmsg (batched writes)', op: 'sendmsg', since: '5.3' },
  { feature: 'shutdown (end())', op: 'shutdown', since: '5.11' },
  { feature: 'close', op: 'close', since: '5.6' },
  { feature: 'cancel (pause, close, signal)', op: 'async_cancel', since: '5.5' }
]

/** Everything `boros doctor --json` prints. */
export interface DoctorReport {
  /** Whether boros can use io_uring here (the exit code is 0 exactly when this is true). */
  readonly ok: boolean
  readonly boros: { readonly version: string | null }
  readonly kernel: {
    readonly release: string
    readonly version: string | null
    readonly minimum: string
    readonly newEnough: boolean | null
  }
  readonly node: {
    readonly version: string
    readonly uv: string | null
    readonly napi: string | null
    readonly minimum: string
    readonly newEnough: boolean | null
    /** `'node'`, or the runtime that pretends to be Node (`'bun'`, `'deno'`). */
    readonly runtime: string
  }
  readonly addon: {
    readonly loaded: boolean
    /** The `.node` file that was loaded. */
    readonly file: string | null
    /** Why it did not load (each attempt of the loader, first line of each). */
    readonly errors: readonly string[]
  }
  readonly ioUring: {
    readonly usable: boolean
    /** Why not, most specific first (empty when usable). */
    readonly reasons: readonly string[]
    /** errno of the failed `io_uring_setup`, if one was tried and failed. */
    readonly errno: number | null
    /** What the native probe said when ring setup failed. */
    readonly setupError: string | null
    /** Whether a seccomp filter is active for this process (`Seccomp: 2` in /proc/self/status). */
    readonly seccompFiltered: boolean | null
    /** `kernel.io_uring_disabled` (Linux 6.6+; null when the sysctl does not exist). */
    readonly ioUringDisabled: number | null
  }
  readonly ops: readonly DoctorOp[]
  /** What `boros/net` (sockets) needs and whether this kernel has it. */
  readonly net: readonly DoctorNetFeature[]
  /** RLIMIT_MEMLOCK in bytes (`null` = unlimited); registered buffers count against it. */
  readonly memlock: { readonly soft: number | null; readonly hard: number | null } | null
  readonly backend: {
    /** What boros will use in this process. */
    readonly name: 'io_uring' | 'fallback'
    readonly reason: string | null
    /** Whether BOROS_BACKEND=fallback forces the fallback. */
    readonly forced: boolean
  }
  /** The drop-in mode (`node --import boros/register`): whether this process runs with it. */
  readonly register: {
    /** Whether boros/register swapped node:fs/promises for boros/fs in this process. */
    readonly active: boolean
    /** How ES module imports get boros (`'syncBuiltinESMExports'`, or `'none'`). */
    readonly esm: string
    /** Whether NODE_OPTIONS names boros/register (so child processes get it too). */
    readonly inNodeOptions: boolean
  }
  /**
   * How soon a ring's eventfd fires after a socket event while the thread sleeps in poll, as
   * libuv sleeps (milliseconds, best of 3; `null` when not measured). `deferDelayed`: a
   * `DEFER_TASKRUN` ring is late (> 2 ms) on this kernel — why boros sets its rings up with
   * `COOP_TASKRUN` (`BOROS_TASKRUN=defer` brings the late setup back).
   */
  readonly wakeUp: {
    readonly deferMs: number | null
    readonly coopMs: number | null
    readonly deferDelayed: boolean | null
  } | null
  /** Things that are not fatal but worth knowing. */
  readonly warnings: readonly string[]
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** `[major, minor]` of a version like `6.18.44-fc`, `v20.19.0` or `6.1`. */
function majorMinor(v: string): [number, number] | null {
  const m = /^v?(\d+)\.(\d+)/.exec(v)
  return m === null ? null : [Number(m[1]), Number(m[2])]
}

/** Whether version `v` is at least `min` (major.minor); `null` if `v` does not parse. */
export function atLeast(v: string, min: string): boolean | null {
  const a = majorMinor(v)
  const b = majorMinor(min)
  if (a === null || b === null) return null
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1]
}

function firstLine(s: unknown): string {
  return String(s).split('\n')[0] ?? ''
}

/** The load error and its cause chain (the napi loader chains one error per attempt). */
function errorChain(e: unknown): string[] {
  const out: string[] = []
  const seen = new Set<unknown>()
  let cur: unknown = e
  while (cur != null && !seen.has(cur) && out.length < 12) {
    seen.add(cur)
    out.push(firstLine(cur instanceof Error ? cur.message : cur))
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined
  }
  return out
}

/** `'musl'` or `'gnu'` (glibc), as the napi loader decides. */
function libc(): string {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    if (report?.header?.glibcVersionRuntime !== undefined) return 'gnu'
  } catch {
    // no report: look at ldd below
  }
  const ldd = readText('/usr/bin/ldd')
  return ldd?.includes('musl') ? 'musl' : 'gnu'
}

/** Which JS runtime this is. */
function jsRuntime(): string {
  const v = process.versions as Record<string, string | undefined>
  if (v.bun !== undefined) return 'bun'
  if (v.deno !== undefined || 'Deno' in globalThis) return 'deno'
  return 'node'
}

/** Soft and hard "Max locked memory" from /proc/self/limits. */
export function readMemlock(limits = readText('/proc/self/limits')): DoctorReport['memlock'] {
  if (limits === null) return null
  const line = limits.split('\n').find((l) => l.startsWith('Max locked memory'))
  if (line === undefined) return null
  const parts = line.slice('Max locked memory'.length).trim().split(/\s+/)
  const num = (s: string | undefined): number | null => (s === undefined || s === 'unlimited' ? null : Number(s))
  return { soft: num(parts[0]), hard: num(parts[1]) }
}

function readIoUringDisabled(): number | null {
  const t = readText('/proc/sys/kernel/io_uring_disabled')
  return t === null ? null : Number(t.trim())
}

function readSeccomp(): boolean | null {
  const t = readText('/proc/self/status')
  const m = t === null ? null : /^Seccomp:\s*(\d+)/m.exec(t)
  return m === null ? null : m[1] === '2'
}

function borosVersion(): string | null {
  const t = readText(join(__dirname, '..', '..', 'package.json'))
  try {
    return t === null ? null : ((JSON.parse(t) as { version?: string }).version ?? null)
  } catch {
    return null
  }
}

/** Runs `fn` without letting it print process warnings (the fallback warns once). */
function quietly<T>(fn: () => T): T {
  const orig = process.emitWarning
  process.emitWarning = (() => {}) as typeof process.emitWarning
  try {
    return fn()
  } finally {
    process.emitWarning = orig
  }
}

/** Looks at this machine and this process. Sets this thread's ring up, as boros would. */
export function diagnose(): DoctorReport {
  const rt = jsRuntime()
  const kernelRelease = release()
  const warnings: string[] = []

  // The addon: the façade's binding loaded it (or failed); load again only to learn why not.
  let native = nativeBinding()
  let addonErrors: string[] = []
  if (native === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      native = require('../../index.js')
    } catch (e) {
      // The loader's error first, then its cause chain (one per attempt, last attempt first).
      const [head, ...attempts] = errorChain(e)
      addonErrors = [...(head !== undefined ? [head] : []), ...attempts.reverse()]
    }
  }
  const addonFile = Object.keys(require.cache).find((k) => k.endsWith('.node')) ?? null

  let probe: ReturnType<NonNullable<typeof native>['probe']> | undefined
  let probeError: string | null = null
  if (native !== undefined) {
    try {
      probe = native.probe()
    } catch (e) {
      probeError = firstLine(e instanceof Error ? e.message : e)
    }
  }

  const kernelNewEnough = atLeast(kernelRelease, MIN_KERNEL)
  const nodeNewEnough = atLeast(process.versions.node, MIN_NODE)
  const ioUringDisabled = probe?.ioUringDisabled ?? readIoUringDisabled()
  const seccompFiltered = probe?.seccompFiltered ?? readSeccomp()

  const reasons: string[] = []
  if (rt !== 'node') {
    reasons.push(
      `unsupported runtime: ${rt} ${process.versions[rt as 'node'] ?? ''}`.trimEnd() +
        ' (boros drives its ring from libuv, which only Node provides; use Node >= ' +
        MIN_NODE +
        ')'
    )
  }
  if (native === undefined) {
    const pkg = `boros-${process.platform}-${process.arch}${process.platform === 'linux' ? `-${libc()}` : ''}`
    reasons.push(
      `the native addon could not be loaded (${pkg}): install boros with its optional dependencies ` +
        '(npm skips them with --omit=optional, --no-optional, or a lockfile made on another platform)'
    )
  } else if (probeError !== null) {
    reasons.push(`the native probe failed: ${probeError}`)
  }
  if (kernelNewEnough === false) {
    reasons.push(`kernel ${kernelRelease} is too old: boros needs Linux >= ${MIN_KERNEL} (IORING_SETUP_DEFER_TASKRUN)`)
  }
  if (ioUringDisabled === 2) {
    reasons.push(
      'kernel.io_uring_disabled = 2: io_uring is disabled for every process (sysctl -w kernel.io_uring_disabled=0 to allow it)'
    )
  } else if (ioUringDisabled === 1 && probe !== undefined && !probe.ok) {
    reasons.push(
      'kernel.io_uring_disabled = 1: io_uring is allowed only to members of kernel.io_uring_group and to CAP_SYS_ADMIN'
    )
  }
  if (probe !== undefined && !probe.ok) {
    if (seccompFiltered === true && probe.errno === 1 /* EPERM */ && !/seccomp/i.test(probe.reason ?? '')) {
      reasons.push(
        "a seccomp filter refuses io_uring_setup with EPERM (Docker's default profile does: run the container with --security-opt seccomp=unconfined or a profile that allows io_uring_setup/io_uring_enter/io_uring_register)"
      )
    }
    reasons.push(`ring setup failed: ${probe.reason ?? 'unknown reason'}`)
  }

  const usable = rt === 'node' && native !== undefined && probe?.ok === true && kernelNewEnough !== false
  if (nodeNewEnough === false)
    warnings.push(`Node ${process.versions.node} is older than ${MIN_NODE}, which boros supports`)

  if (probe?.shrunk) warnings.push(`smaller rings: ${probe.shrunk}`)
  let wakeUp: DoctorReport['wakeUp'] = null
  if (usable && native !== undefined) {
    const w = native.wakeProbe()
    const deferMs = w.deferMs ?? null
    const coopMs = w.coopMs ?? null
    wakeUp = { deferMs, coopMs, deferDelayed: deferMs === null ? null : deferMs > 2 }
    if (deferMs !== null && deferMs > 2 && process.env.BOROS_TASKRUN === 'defer')
      warnings.push(
        `BOROS_TASKRUN=defer: this kernel wakes a DEFER_TASKRUN ring's eventfd ${deferMs.toFixed(1)} ms after a socket event; every single-connection round trip pays it (unset BOROS_TASKRUN)`
      )
    if (coopMs !== null && coopMs > 2)
      warnings.push(`socket wake-ups are slow here even with COOP_TASKRUN (${coopMs.toFixed(1)} ms)`)
  }
  const memlock = readMemlock()
  if (memlock !== null && memlock.soft !== null && memlock.soft < 8 * 1024 * 1024) {
    warnings.push(
      `RLIMIT_MEMLOCK is ${formatBytes(memlock.soft)}: registered buffers may fall back to plain buffers (ulimit -l)`
    )
  }

  const ops: DoctorOp[] = (probe?.ops ?? []).map((o) => ({
    name: o.name,
    since: o.since,
    supported: probe?.ok === true ? o.supported : null,
    kernelIsNewEnough: atLeast(kernelRelease, o.since)
  }))

  const net: DoctorNetFeature[] = NET_FEATURES.map((f) => {
    const op = ops.find((o) => o.name === f.op)
    const newEnough = atLeast(kernelRelease, f.since)
    const supported = op === undefined || op.supported === null ? null : op.supported && newEnough === true
    return { ...f, supported }
  })

  // The backend boros will use: ask the runtime itself (sets this thread's ring up).
  const forced = process.env.BOROS_BACKEND === 'fallback'
  let backend: DoctorReport['backend']
  try {
    const info = quietly(() => runtime())
    backend = { name: info.backend, reason: info.backend === 'fallback' ? (info.fallbackReason ?? null) : null, forced }
  } catch (e) {
    backend = { name: 'fallback', reason: firstLine(e instanceof Error ? e.message : e), forced }
  }
  if (backend.name === 'io_uring' && !usable) {
    warnings.push('the runtime set a ring up although the checks above say io_uring is not usable')
  }

  return {
    ok: usable,
    boros: { version: borosVersion() },
    kernel: {
      release: kernelRelease,
      version: /^\d+\.\d+(\.\d+)?/.exec(kernelRelease)?.[0] ?? null,
      minimum: MIN_KERNEL,
      newEnough: kernelNewEnough
    },
    node: {
      version: process.version,
      uv: process.versions.uv ?? null,
      napi: process.versions.napi ?? null,
      minimum: MIN_NODE,
      newEnough: nodeNewEnough,
      runtime: rt
    },
    addon: { loaded: native !== undefined, file: native !== undefined ? addonFile : null, errors: addonErrors },
    ioUring: {
      usable,
      reasons: usable ? [] : reasons.length > 0 ? reasons : ['unknown reason'],
      errno: probe?.errno ?? null,
      setupError: probe !== undefined && !probe.ok ? (probe.reason ?? null) : null,
      seccompFiltered,
      ioUringDisabled
    },
    ops,
    net,
    memlock,
    backend,
    wakeUp,
    register: {
      active: registerState().active,
      esm: registerState().esm,
      inNodeOptions: /boros\/register|register\/index\.c?m?js/.test(process.env.NODE_OPTIONS ?? '')
    },
    warnings
  }
}

function formatBytes(n: number | null): string {
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
      `${ms(r.wakeUp.coopMs)} (COOP_TASKRUN, used); DEFER_TASKRUN ${ms(r.wakeUp.deferMs)}${r.wakeUp.deferDelayed ? ' — DELAYED on this kernel' : ''}`
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

export const USAGE = `usage: boros doctor [--json]

Tells whether boros can use io_uring here, and if not, why: kernel, Node and libuv versions,
seccomp, kernel.io_uring_disabled, the native addon, each io_uring operation boros uses,
RLIMIT_MEMLOCK, and the backend boros will use (BOROS_BACKEND=fallback forces the fallback).

  --json   print one JSON object instead of text
  --help   print this

Exit code: 0 when io_uring is usable, 1 when it is not, 2 on a usage error.`

/** Runs `boros doctor` with the arguments after `doctor`; returns the exit code. */
export function main(args: readonly string[]): number {
  let json = false
  for (const a of args) {
    if (a === '--json') json = true
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n')
      return 0
    } else {
      process.stderr.write(`boros doctor: unknown argument ${JSON.stringify(a)}\n${USAGE}\n`)
      return 2
    }
  }
  const report = diagnose()
  process.stdout.write((json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n')
  return report.ok ? 0 : 1
}
