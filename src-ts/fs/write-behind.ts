/**
 * Write-behind: after every `WRITE_BEHIND_BYTES` of buffered writes through one FileHandle (or,
 * in the callback API, one descriptor), the write-back of the file's dirty pages is started (`sync_file_range(SYNC_FILE_RANGE_WRITE)`,
 * which queues the disk writes and does not wait for them). Without it the kernel keeps the
 * pages dirty until its flusher wakes (30 s, or 10 % of memory dirty), so an `fsync` after a
 * large file is written waits for the whole file to reach the disk; with it the disk works while
 * the file is written and the `fsync` waits for the last window. Nothing a caller can observe
 * changes but timing: no durability is promised before `fsync`, as with node:fs.
 * Measurements and trade-off: docs/files-internals.md, "Write-behind".
 * Not part of the public API.
 * @module
 */
import type { NativeBinding } from '../binding.js'
import { RING, type Route } from './route.js'

/** Bytes written through one handle between two write-back starts. */
export const WRITE_BEHIND_BYTES = 8 * 1024 * 1024

/** `BOROS_WRITE_BEHIND=0` (or `off`) turns write-behind off. */
let enabled = !['0', 'off'].includes(process.env.BOROS_WRITE_BEHIND ?? '')

/**
 * @internal Turns write-behind on or off in this thread from now on (`undefined`: the
 * environment's setting), for bench/extra/write-route.mjs, which interleaves the variants.
 */
export function _forceWriteBehind(on: boolean | undefined): void {
  enabled = on ?? !['0', 'off'].includes(process.env.BOROS_WRITE_BEHIND ?? '')
}

/**
 * Whether buffered writes to a descriptor with this route are written behind: regular files on
 * file systems with a disk behind them (the ring's read route: not tmpfs, whose pages have no
 * write-back, nor procfs or FUSE), not `O_DIRECT` (which bypasses the page cache).
 */
export function writesBehind(route: Route | undefined): boolean {
  return enabled && route?.regular === true && !route.oDirect && route.kind === RING
}

/** Submits one write-back start (`startWriteback` of the whole file) and calls `done` when it is over. */
export type StartWriteback = (
  start: (b: NativeBinding, kind: number, file: number, token: number) => number,
  done: () => void
) => void

/** The write-behind count of one file (a FileHandle, or a descriptor of the callback API). */
export class WriteBehind {
  /** Bytes written since the last write-back start. */
  #unflushed = 0
  /** A write-back start is in flight. */
  #flushing = false

  /**
   * Counts `len` bytes of a write about to be submitted to a file with `route` and, every
   * `WRITE_BEHIND_BYTES` on a file that is written behind, starts the write-back of the file's
   * dirty pages (the writes already done) through `submit`; one start in flight at a time. Its
   * result is not waited for: a failure to start only leaves the pages to the kernel's flusher.
   */
  wrote(route: Route | undefined, len: number, submit: StartWriteback): void {
    if (!writesBehind(route)) return
    this.#unflushed += len
    if (this.#unflushed < WRITE_BEHIND_BYTES || this.#flushing) return
    this.#unflushed = 0
    this.#flushing = true
    submit(
      (b, kind, file, token) => b.startWriteback(kind, file, 0, 0, token),
      () => {
        this.#flushing = false
      }
    )
  }
}
