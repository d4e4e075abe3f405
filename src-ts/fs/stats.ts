/**
 * Stats objects from a statx result: real `fs.Stats` instances, so `instanceof fs.Stats`,
 * `isFile()` and friends behave exactly as with `node:fs`.
 * Not part of the public API.
 * @module
 */
import { Stats } from 'node:fs'

/** Slots the native statx fills (see the binding's `statx`). */
export const STAT_FIELDS = 18

const ms = (sec: number, nsec: number): number => sec * 1e3 + nsec / 1e6

/** Builds an `fs.Stats` from the 18 numbers the native side wrote. */
export function toStats(f: Float64Array): Stats {
  const s = Object.create(Stats.prototype) as Stats
  s.dev = f[0]!
  s.mode = f[1]!
  s.nlink = f[2]!
  s.uid = f[3]!
  s.gid = f[4]!
  s.rdev = f[5]!
  s.blksize = f[6]!
  s.ino = f[7]!
  s.size = f[8]!
  s.blocks = f[9]!
  s.atimeMs = ms(f[10]!, f[11]!)
  s.mtimeMs = ms(f[12]!, f[13]!)
  s.ctimeMs = ms(f[14]!, f[15]!)
  s.birthtimeMs = ms(f[16]!, f[17]!)
  // Node rounds to the nearest millisecond (Date truncates, hence + 0.5).
  s.atime = new Date(s.atimeMs + 0.5)
  s.mtime = new Date(s.mtimeMs + 0.5)
  s.ctime = new Date(s.ctimeMs + 0.5)
  s.birthtime = new Date(s.birthtimeMs + 0.5)
  return s
}
