/**
 * Write-behind: once a file has taken `WRITE_BEHIND_AFTER` bytes of buffered writes through one
 * FileHandle (or, in the callback API, one descriptor), and then every `WRITE_BEHIND_BYTES`, the
 * write-back of the file's dirty pages is started (`sync_file_range(SYNC_FILE_RANGE_WRITE)`,
 * which queues the disk writes and does not wait for them). Without it the kernel keeps the
 * pages dirty until its flusher wakes (30 s, or 10 % of memory dirty), so an `fsync` after a
 * large file is written waits for the whole file to reach the disk; with it the disk works while
 * the file is written and the `fsync` waits for the last window. Nothing a caller can observe
 * changes but timing: no durability is promised before `fsync`, as with node:fs.
 *
 * By default a file that will be synced is written behind on the ring: one written by
 * `writeFile` / `appendFile` with `flush: true`, or through a FileHandle (a descriptor of the
 * callback API) that has been `sync()`ed / `datasync()`ed (`fsync`ed) once — a log or a database
 * file — or any handle or descriptor of a file (same device and inode) that was synced before in
 * this process (a file saved and synced again and again); and a file whose writes alone pass the
 * kernel's `dirty_background` threshold, where the kernel's flusher starts the write-back itself
 * anyway. Any other large file that is overwritten in place is written behind on idle CPU only
 * (the binding's `SCHED_IDLE` thread, crates/boros-node/src/idle_writeback.rs): starting its
 * write-back on the ring made such writes up to ~30 % slower here when nothing synced them (the
 * write-back then competes with the writer for the CPU: docs/files-internals.md); new files and
 * appends are left to the kernel as with node:fs (their write-back allocates blocks, and the idle
 * thread must not hold the file system's locks while it gets no CPU). `BOROS_WRITE_BEHIND=1` (or
 * `always`) writes every large file behind on the ring; `synced` only those that will be synced
 * (the previous default); `0` (or `off`) none.
 * Measurements and trade-off: docs/files-internals.md, "Write-behind".
 * Not part of the public API.
 * @module
 */
import { freemem } from 'node:os'
import type { NativeBinding } from '../binding.js'
import { nodeFs as fs } from '../node-fs.js'
import { ring } from '../binding.js'
import { RING, type Route } from './descriptor-route.js'

/**
 * Bytes written to one file before its first write-back start: smaller files (most `writeFile`s)
 * are left to the kernel's flusher as with node:fs, since starting the write-back during the
 * writes slows them down when nothing waits for the disk (docs/files-internals.md).
 */
export const WRITE_BEHIND_AFTER = 32 * 1024 * 1024
/** Bytes written to one file between two write-back starts after the first. */
export const WRITE_BEHIND_BYTES = 8 * 1024 * 1024

/**
 * Which files are written behind: none; those that will be synced (on the ring), the others on
 * idle CPU only (`idle`, the default); only those that will be synced (`synced`); or all, on the
 * ring (`always`).
 */
export type WriteBehindMode = 'off' | 'synced' | 'idle' | 'always'

/** The mode `BOROS_WRITE_BEHIND` asks for: `0`/`off`, `1`/`on`/`always`, `synced`, else `idle`. */
function modeOfEnv(): WriteBehindMode {
  const v = process.env.BOROS_WRITE_BEHIND ?? ''
  if (v === '0' || v === 'off') return 'off'
  if (v === '1' || v === 'on' || v === 'always') return 'always'
  if (v === 'synced') return 'synced'
  return 'idle'
}

let mode: WriteBehindMode = modeOfEnv()

/**
 * @internal Sets the mode in this thread from now on (a mode, `true`: `always`, `false`: `off`,
 * `undefined`: the environment's), for tests and bench/extra/write-route.mjs, which interleaves
 * the variants.
 */
export function _forceWriteBehind(on: boolean | WriteBehindMode | undefined): void {
  mode = on === undefined ? modeOfEnv() : on === true ? 'always' : on === false ? 'off' : on
}

/**
 * Whether buffered writes to a descriptor with this route are written behind: regular files on
 * file systems with a disk behind them (the ring's read route: not tmpfs, whose pages have no
 * write-back, nor procfs or FUSE), not `O_DIRECT` (which bypasses the page cache).
 */
export function writesBehind(route: Route | undefined): route is Route {
  return mode !== 'off' && route?.regular === true && !route.oDirect && route.kind === RING
}

/**
 * Files (`Route.file`) synced in this process, the most recent last, at most `SYNCED_FILES`. A
 * file deleted since keeps its entry: a new file given the same inode number is then written
 * behind too, which only moves its disk writes earlier.
 */
const syncedFiles = new Set<string>()
const SYNCED_FILES = 1024

function rememberSynced(file: string): void {
  if (file === '') return
  syncedFiles.delete(file)
  syncedFiles.add(file)
  if (syncedFiles.size > SYNCED_FILES) syncedFiles.delete(syncedFiles.values().next().value as string)
}

let background: number | undefined

/** @internal Sets the kernel's background threshold as write-behind sees it (`undefined`: read it again), for tests. */
export function _forceKernelBackground(bytes: number | undefined): void {
  background = bytes
}
/**
 * About the bytes of dirty pages past which the kernel's flusher starts writing back
 * (`vm.dirty_background_bytes`, else `vm.dirty_background_ratio` % of the available memory),
 * read once; `Infinity` if unknown. A cgroup's own limit may be lower: the kernel then starts
 * sooner than this, never later.
 */
function kernelBackgroundBytes(): number {
  if (background === undefined) {
    try {
      const bytes = Number(fs.readFileSync('/proc/sys/vm/dirty_background_bytes', 'latin1'))
      const ratio = Number(fs.readFileSync('/proc/sys/vm/dirty_background_ratio', 'latin1'))
      background = bytes > 0 ? bytes : ratio > 0 ? (freemem() * ratio) / 100 : Number.POSITIVE_INFINITY
    } catch {
      background = Number.POSITIVE_INFINITY
    }
  }
  return background
}

/**
 * Submits one write-back start (`startWriteback`) on the ring and calls `done` when it is over;
 * `idleFd` is the file's descriptor for a start on idle CPU (-1: the file has none, a
 * registered-file slot).
 */
export type StartWriteback = ((
  start: (b: NativeBinding, kind: number, file: number, token: number) => number,
  done: () => void
) => void) & { idleFd?: number }

/** The binding, once the ring is up (a write was submitted before any write-back start). */
let binding: NativeBinding | undefined

/** @internal For tests: the idle write-back starts made in this thread (queued or not). */
export const idleStarts = { queued: 0, dropped: 0 }

/**
 * Starts the write-back of `bytes` (0: to the end) of descriptor `fd` from `from` on idle CPU
 * (the binding's `SCHED_IDLE` thread, crates/boros-node/src/idle_writeback.rs); nothing to wait for.
 */
function startIdle(fd: number, from: number, bytes: number): void {
  binding ??= ring()
  if (binding.startWritebackIdle(fd, from, bytes)) idleStarts.queued++
  else idleStarts.dropped++
}

/**
 * Whether a write of `len` bytes at `pos` may have the write-back before it started on idle CPU:
 * a positional overwrite inside the file as it was when its route was learned (its blocks exist:
 * the write-back allocates none, so the idle thread takes no journal handle or allocation lock
 * that the writer would wait for while it gets no CPU — measured: new files were written up to
 * twice as slowly with it), through a descriptor (not a registered-file slot).
 */
function idleAllowed(route: Route, len: number, pos: number, fd: number | undefined): boolean {
  return fd !== undefined && fd >= 0 && pos >= 0 && pos + len <= route.size
}

/** The write-behind count of one file (a FileHandle, or a descriptor of the callback API). */
export class WriteBehind {
  /** Bytes written since the last write-back start (since the first write before it). */
  #unflushed = 0
  /** A write-back start is in flight. */
  #flushing = false
  /** The first write-back start was made. */
  #started = false
  /** Where the last ranged write-back start ended. */
  #behind = 0
  /** An fsync of the file is known to come (`flush: true`), was made once, or the kernel writes it back anyway. */
  #synced = false
  /** Bytes the file's unsynced writes reach (the highest end of a positional write, else the sum). */
  #reach = 0

  /** Marks the file with `route` as one that will be synced: in the default mode, it is written behind from now on. */
  expectSync(route: Route | undefined): void {
    this.#synced = true
    if (route !== undefined) rememberSynced(route.file)
  }

  /**
   * Whether a write of `len` bytes at `pos` to the file (with `route`) is written behind in the
   * default mode: the handle was synced, the file was synced before in this process, or the
   * file's writes alone now pass the kernel's background threshold (from then on).
   */
  #expected(route: Route, len: number, pos: number): boolean {
    if (syncedFiles.size > 0 && syncedFiles.has(route.file)) {
      this.#synced = true
      return true
    }
    this.#reach = pos >= 0 ? Math.max(this.#reach, pos + len) : this.#reach + len
    if (this.#reach < WRITE_BEHIND_AFTER || this.#reach < kernelBackgroundBytes()) return false
    this.#synced = true
    this.#unflushed = this.#reach - len
    return true
  }

  /**
   * Counts `len` bytes of a write at `pos` (-1: the current position) about to be submitted to a
   * file with `route` and, on a file that is written behind, after `WRITE_BEHIND_AFTER` bytes and
   * then every `WRITE_BEHIND_BYTES`, starts the write-back through `submit`, one start in flight
   * at a time: of the dirty pages from where the last start ended to one window
   * (`WRITE_BEHIND_BYTES`) before `pos`, which the writes in flight are past (measured: starting
   * the pages being written too made the final fsync 8 % slower); of the whole file for a write
   * at the current position. Its result is not waited for: a failure to start only leaves the
   * pages to the kernel's flusher.
   */
  wrote(route: Route | undefined, len: number, pos: number, submit: StartWriteback): void {
    if (!writesBehind(route)) return
    // A file not known to be synced: on idle CPU, where the descriptor allows (see startIdle).
    const idle = mode !== 'always' && !this.#synced && !this.#expected(route, len, pos)
    if (idle && !(mode === 'idle' && idleAllowed(route, len, pos, submit.idleFd))) return
    this.#unflushed += len
    if (this.#unflushed < (this.#started ? WRITE_BEHIND_BYTES : WRITE_BEHIND_AFTER) || this.#flushing) return
    let from = 0
    let bytes = 0
    if (pos >= 0) {
      const end = pos - WRITE_BEHIND_BYTES
      if (end <= this.#behind) return
      from = this.#behind
      bytes = Math.min(end - from, 0x7fff_f000)
      this.#behind = from + bytes
    }
    this.#unflushed = 0
    this.#started = true
    if (idle) {
      startIdle(submit.idleFd!, from, bytes)
      return
    }
    this.#flushing = true
    submit(
      (b, kind, file, token) => b.startWriteback(kind, file, from, bytes, token),
      () => {
        this.#flushing = false
      }
    )
  }
}
