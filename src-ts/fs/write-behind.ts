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
 * By default only a file that will be synced is written behind: one written by `writeFile` /
 * `appendFile` with `flush: true`, or through a FileHandle (a descriptor of the callback API)
 * that has been `sync()`ed / `datasync()`ed (`fsync`ed) once — a log or a database file. A large
 * file that nothing syncs is left to the kernel as with node:fs, because starting its write-back
 * early made such writes up to ~30 % slower here (docs/files-internals.md). `BOROS_WRITE_BEHIND=1`
 * (or `always`) writes every large file behind; `0` (or `off`) none.
 * Measurements and trade-off: docs/files-internals.md, "Write-behind".
 * Not part of the public API.
 * @module
 */
import type { NativeBinding } from '../binding.js'
import { RING, type Route } from './route.js'

/**
 * Bytes written to one file before its first write-back start: smaller files (most `writeFile`s)
 * are left to the kernel's flusher as with node:fs, since starting the write-back during the
 * writes slows them down when nothing waits for the disk (docs/files-internals.md).
 */
export const WRITE_BEHIND_AFTER = 32 * 1024 * 1024
/** Bytes written to one file between two write-back starts after the first. */
export const WRITE_BEHIND_BYTES = 8 * 1024 * 1024

/** Which files are written behind: none, those that will be synced (the default), or all. */
export type WriteBehindMode = 'off' | 'synced' | 'always'

/** The mode `BOROS_WRITE_BEHIND` asks for: `0`/`off`, `1`/`on`/`always`, else `synced`. */
function modeOfEnv(): WriteBehindMode {
  const v = process.env.BOROS_WRITE_BEHIND ?? ''
  if (v === '0' || v === 'off') return 'off'
  if (v === '1' || v === 'on' || v === 'always') return 'always'
  return 'synced'
}

let mode: WriteBehindMode = modeOfEnv()

/**
 * @internal Sets the mode in this thread from now on (`true`: `always`, `false`: `off`,
 * `undefined`: the environment's), for tests and bench/extra/write-route.mjs, which interleaves
 * the variants.
 */
export function _forceWriteBehind(on: boolean | undefined): void {
  mode = on === undefined ? modeOfEnv() : on ? 'always' : 'off'
}

/**
 * Whether buffered writes to a descriptor with this route are written behind: regular files on
 * file systems with a disk behind them (the ring's read route: not tmpfs, whose pages have no
 * write-back, nor procfs or FUSE), not `O_DIRECT` (which bypasses the page cache).
 */
export function writesBehind(route: Route | undefined): boolean {
  return mode !== 'off' && route?.regular === true && !route.oDirect && route.kind === RING
}

/** Submits one write-back start (`startWriteback`) and calls `done` when it is over. */
export type StartWriteback = (
  start: (b: NativeBinding, kind: number, file: number, token: number) => number,
  done: () => void
) => void

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
  /** An fsync of the file is known to come (`flush: true`) or was made once. */
  #synced = false

  /** Marks the file as one that will be synced: in the default mode, it is written behind from now on. */
  expectSync(): void {
    this.#synced = true
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
    if (!writesBehind(route) || (mode === 'synced' && !this.#synced)) return
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
    this.#flushing = true
    this.#started = true
    submit(
      (b, kind, file, token) => b.startWriteback(kind, file, from, bytes, token),
      () => {
        this.#flushing = false
      }
    )
  }
}
