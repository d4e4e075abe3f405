/**
 * Write-behind: once a file has taken `WRITE_BEHIND_AFTER` bytes of buffered writes through one
 * FileHandle (or, in the callback API, one descriptor), and then every `WRITE_BEHIND_BYTES`, the
 * write-back of the file's dirty pages is started (`sync_file_range(SYNC_FILE_RANGE_WRITE)`,
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

/**
 * Bytes written to one file before its first write-back start: smaller files (most `writeFile`s)
 * are left to the kernel's flusher as with node:fs, since starting the write-back during the
 * writes slows them down when nothing waits for the disk (docs/files-internals.md).
 */
export const WRITE_BEHIND_AFTER = 32 * 1024 * 1024
/** Bytes written to one file between two write-back starts after the first. */
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
