/**
 * Write-behind: after every `WRITE_BEHIND_BYTES` of buffered writes through one FileHandle, the
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
  return enabled && route !== undefined && route.regular && !route.oDirect && route.kind === RING
}
