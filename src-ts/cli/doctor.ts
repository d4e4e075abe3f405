/**
 * `boros doctor`: tells whether boros can use io_uring on this machine, and if not, why.
 *
 * Works without the native addon (then says why it did not load). Exit code 0 when io_uring is
 * usable, 1 when it is not (boros then runs on its node:fs fallback), 2 on a usage error.
 * @module
 */
import { release } from 'node:os'
import { nativeBinding } from '../binding.js'
import { runtime } from '../runtime.js'
import { registerState } from '../register.js'
import { formatBytes, formatReport } from './doctor-format.js'
import {
  atLeast,
  borosVersion,
  errorChain,
  firstLine,
  jsRuntime,
  libc,
  quietly,
  readIoUringDisabled,
  readMemlock,
  readSeccomp
} from './doctor-probe.js'
import {
  type DoctorNetFeature,
  type DoctorOp,
  type DoctorReport,
  MIN_KERNEL,
  MIN_NODE,
  NET_FEATURES
} from './doctor-report.js'

export type { DoctorNetFeature, DoctorOp, DoctorReport } from './doctor-report.js'
export { MIN_KERNEL, MIN_NODE, NET_FEATURES } from './doctor-report.js'
export { atLeast, readMemlock } from './doctor-probe.js'
export { formatReport } from './doctor-format.js'

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
