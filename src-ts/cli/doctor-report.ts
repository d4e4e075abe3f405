/**
 * The shape of `boros doctor`'s report (`--json` prints it) and the minimums it checks against.
 * @module
 */

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
   * How soon the descriptor libuv sleeps on fires after a socket event while the thread sleeps
   * in poll, as libuv sleeps (milliseconds, best of 3; `null` when not measured): a
   * `COOP_TASKRUN` ring's own fd (`coopMs`, the runtime's setup), a `DEFER_TASKRUN` ring's
   * registered eventfd (`deferMs`). `deferDelayed`: a
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
