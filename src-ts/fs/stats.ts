/**
 * Stats objects from a statx result: real `fs.Stats` instances, so `instanceof fs.Stats`,
 * `isFile()` and friends behave exactly as with `node:fs`.
 * Not part of the public API.
 * @module
 */
import { Stats } from 'node:fs'
import { STAT_FIELD_NAMES } from '../wire.js'

export { STAT_FIELDS } from '../wire.js'

/** Where each field is in a stat record (the order is wire.rs's `STAT_FIELD_NAMES`). */
const at = Object.fromEntries(STAT_FIELD_NAMES.map((name, i) => [name, i])) as Record<
  (typeof STAT_FIELD_NAMES)[number],
  number
>

const ms = (sec: number, nsec: number): number => sec * 1e3 + nsec / 1e6

/**
 * Whether this Node's `Stats` makes its `Date` fields lazily (Node 22+: accessors on the
 * prototype that build `new Date(Math.round(atimeMs))` on first read). Then they are left to
 * those getters, as Node's own Stats objects do: assigning them would go through the
 * accessors' setters (an `Object.defineProperty` each), which made a `stat` on Node 24 cost
 * 3.6 µs in `toStats` alone instead of 0.5 (docs/files-internals.md).
 */
export const LAZY_DATES = typeof Object.getOwnPropertyDescriptor(Stats.prototype, 'atime')?.get === 'function'

/** Builds an `fs.Stats` from the stat record the native side wrote. */
export function toStats(f: Float64Array): Stats {
  const s = Object.create(Stats.prototype) as Stats
  s.dev = f[at.dev]!
  s.mode = f[at.mode]!
  s.nlink = f[at.nlink]!
  s.uid = f[at.uid]!
  s.gid = f[at.gid]!
  s.rdev = f[at.rdev]!
  s.blksize = f[at.blksize]!
  s.ino = f[at.ino]!
  s.size = f[at.size]!
  s.blocks = f[at.blocks]!
  s.atimeMs = ms(f[at.atimeSec]!, f[at.atimeNsec]!)
  s.mtimeMs = ms(f[at.mtimeSec]!, f[at.mtimeNsec]!)
  s.ctimeMs = ms(f[at.ctimeSec]!, f[at.ctimeNsec]!)
  s.birthtimeMs = ms(f[at.birthtimeSec]!, f[at.birthtimeNsec]!)
  if (LAZY_DATES) return s
  // Node rounds to the nearest millisecond (Date truncates, hence + 0.5).
  s.atime = new Date(s.atimeMs + 0.5)
  s.mtime = new Date(s.mtimeMs + 0.5)
  s.ctime = new Date(s.ctimeMs + 0.5)
  s.birthtime = new Date(s.birthtimeMs + 0.5)
  return s
}
