/**
 * Node's open flag strings, as numbers.
 * Not part of the public API.
 * @module
 */
import { constants } from 'node:fs'
import { invalidArgValue, invalidArgType, outOfRange } from '../errors.js'

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = constants

const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC
}

/** A Node flag string or number, as the number `open(2)` takes. */
export function parseFlags(flags: unknown, fallback = 'r', name = 'flags'): number {
  if (flags == null) return FLAGS[fallback]!
  if (typeof flags === 'number') {
    // Node's stringToFlags: validateInt32(flags, name).
    if (!Number.isInteger(flags)) throw outOfRange(name, 'an integer', flags)
    if (flags < -(2 ** 31) || flags > 2 ** 31 - 1) throw outOfRange(name, '>= -2147483648 && <= 2147483647', flags)
    return flags
  }
  // Node's stringToFlags names only the integer check after its caller; what is not a known
  // flag string is `ERR_INVALID_ARG_VALUE('flags', ...)` whoever calls it (Node 26's one-trip
  // writeFile: 'options.flag' for 5.5, 'flags' for 'bogus').
  if (typeof flags !== 'string') throw invalidArgValue('flags', flags)
  const n = FLAGS[flags]
  if (n === undefined) throw invalidArgValue('flags', flags)
  return n
}

/** A mode given as a number or an octal string. */
export function parseMode(mode: unknown, fallback: number | undefined): number {
  // Node's parseFileMode: an octal string is parsed, then validateUint32 (so -1, 1.5 and an
  // octal string above 0o37777777777 are ERR_OUT_OF_RANGE, a non-number ERR_INVALID_ARG_TYPE).
  // No fallback (`fchmod`, `chmod`): null and undefined are ERR_INVALID_ARG_TYPE (Node's
  // `value ??= def` makes both undefined in the message).
  if (mode == null) {
    if (fallback === undefined) throw invalidArgType('mode', 'of type number', undefined)
    return fallback
  }
  if (typeof mode === 'string') {
    if (!/^[0-7]+$/.test(mode))
      throw invalidArgValue('mode', mode, 'must be a 32-bit unsigned integer or an octal string')
    mode = parseInt(mode, 8)
  }
  if (typeof mode !== 'number') throw invalidArgType('mode', 'of type number', mode)
  if (!Number.isInteger(mode)) throw outOfRange('mode', 'an integer', mode)
  if (mode < 0 || mode > 0xffffffff) throw outOfRange('mode', '>= 0 && <= 4294967295', mode)
  return mode
}
