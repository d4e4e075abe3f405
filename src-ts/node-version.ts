/**
 * What differs between the Node versions boros runs on, in one place: `nodeAtLeast()` and the
 * named facts the façade follows (each says which Node changed it and where that was seen).
 * @module
 */

const [MAJOR, MINOR] = process.versions.node.split('.').map(Number) as [number, number]

/** Whether the running Node is `major.minor` or later. */
export function nodeAtLeast(major: number, minor = 0): boolean {
  return MAJOR > major || (MAJOR === major && MINOR >= minor)
}

/** Node 24.16+ validates a read's position right after its offset (before the zero-length and range checks). */
export const READ_POSITION_CHECKED_FIRST = nodeAtLeast(24, 16)

/** Node 26+ names the path in read errors of `readFile` & co. (seen on 26.10 vs 24.21). */
export const READ_ERRORS_NAME_PATH = nodeAtLeast(26)

/** Node 22+ type-checks `options.host` in `connect` (checked on 22.23 and 24). */
export const CONNECT_HOST_TYPE_CHECKED = nodeAtLeast(22)
