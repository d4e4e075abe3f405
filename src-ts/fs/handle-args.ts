/**
 * The arguments of `FileHandle` methods, checked as Node checks them (lib/internal/fs/promises.js),
 * in Node's order, with Node's codes: the forms of `read` and `write`, the buffers and position
 * of `readv`/`writev`, the options of `stat`, and the error for a method called on something else.
 * @module
 */
import { codedError, invalidArgType, invalidArgValue } from '../errors.js'
import { READ_POSITION_CHECKED_FIRST, STAT_OPTIONS_OBJECT } from '../node-facts.js'
import {
  validateBuffer,
  validateInteger,
  validatePosition,
  validateReadRange,
  validateWriteRange,
  writePosition
} from '../validate.js'
import type { ReadOptions, StatOptions } from './handle-types.js'
import { throwIfAborted, type Encoding } from './io.js'

/** What a read reads: `len` 0 reads nothing (Node resolves at once, buffer untouched). */
export interface ReadArgs<T extends NodeJS.ArrayBufferView> {
  readonly view: T
  readonly off: number
  readonly len: number
  /** A bigint past 2^53 - 1 (node:fs serves those), -1 for the current position. */
  readonly pos: number | bigint
  readonly signal: AbortSignal | undefined
}

/**
 * `read(buffer, offset?, length?, position?)`, `read(buffer, options?)` or `read(options?)`:
 * throws Node's error for bad arguments.
 */
export function readArgs<T extends NodeJS.ArrayBufferView = Buffer>(
  buffer?: T | ReadOptions<T>,
  offset?: number | ReadOptions<T> | null,
  length?: number | null,
  position?: number | bigint | null
): ReadArgs<T> {
  // Node's argument forms, in Node's order (lib/internal/fs/promises.js `read`):
  // read(options?), read(buffer, options?), read(buffer, offset?, length?, position?).
  let buf = buffer as unknown
  let off = offset as unknown
  let len = length as unknown
  let given = position as unknown
  let signal: AbortSignal | null | undefined
  if (!ArrayBuffer.isView(buf)) {
    if (buf !== undefined && buf !== null && (typeof buf !== 'object' || Array.isArray(buf))) {
      throw invalidArgType('options', 'of type object', buf)
    }
    const o = (buf ?? {}) as ReadOptions<T>
    buf = o.buffer === undefined ? Buffer.alloc(16384) : o.buffer
    off = o.offset === undefined ? 0 : o.offset
    len = o.length === undefined ? (buf as T).byteLength - (off as number) : o.length
    given = o.position === undefined ? null : o.position
    signal = o.signal
    validateBuffer(buf)
  }
  if (off !== null && typeof off === 'object') {
    const o = off as ReadOptions<T>
    off = o.offset === undefined ? 0 : o.offset
    len = o.length === undefined ? (buf as T).byteLength - (off as number) : o.length
    given = o.position === undefined ? null : o.position
    signal = o.signal
  }
  const view = buf as T
  if (off == null) off = 0
  else validateInteger(off, 'offset', 0, Number.MAX_SAFE_INTEGER)
  len ??= view.byteLength - (off as number)
  // Node 24.16+: `length |= 0`, then the position, right after the offset; earlier Nodes
  // check the position after the range.
  if (READ_POSITION_CHECKED_FIRST) len = (len as number) | 0
  const early = READ_POSITION_CHECKED_FIRST
    ? validatePosition(given, typeof len === 'number' && len > 0 ? len : 0)
    : undefined
  if (len === 0) return { view, off: 0, len: 0, pos: 0, signal: undefined }
  if (view.byteLength === 0) throw invalidArgValue('buffer', view, 'is empty and cannot be written')
  validateReadRange(off, len, view.byteLength)
  const n = len as number
  const pos = early ?? validatePosition(given, n)
  // `signal` is boros' own option: Node ignores what it does not know, so a value that is
  // not an AbortSignal is ignored too.
  if (!(signal instanceof AbortSignal)) signal = undefined
  return { view, off: off as number, len: n, pos, signal }
}

/** What a write writes. */
export interface WriteArgs {
  readonly buf: NodeJS.ArrayBufferView
  readonly off: number
  readonly len: number
  /** -1 for the current position. */
  readonly pos: number
}

/**
 * `write(buffer, offset?, length?, position?)`, `write(buffer, options?)` or
 * `write(string, position?, encoding?)`: throws Node's error for bad arguments; `undefined`
 * when there is nothing to write (Node resolves at once).
 */
export function writeArgs(
  data: NodeJS.ArrayBufferView | string,
  offset?: number | null | { offset?: number; length?: number; position?: number | bigint | null },
  length?: number | Encoding | null,
  position?: number | bigint | null
): WriteArgs | undefined {
  let buf: NodeJS.ArrayBufferView
  let off = 0
  let len: number
  let pos: number
  if (typeof data === 'string') {
    // Node's ParseEncoding: an unknown or non-string encoding is utf8.
    const encoding = (typeof length === 'string' && Buffer.isEncoding(length) ? length : 'utf8') as BufferEncoding
    // Node's validateEncoding: hex text must have an even length.
    if (encoding.toLowerCase() === 'hex' && data.length % 2 !== 0) {
      throw invalidArgValue('encoding', encoding, `is invalid for data of length ${data.length}`)
    }
    buf = Buffer.from(data, encoding)
    len = buf.byteLength
    pos = writePosition(offset)
  } else {
    // Node: anything whose byteLength is 0 writes nothing, before any other check.
    if ((data as { byteLength?: unknown } | null | undefined)?.byteLength === 0) {
      return undefined
    }
    if (!ArrayBuffer.isView(data)) {
      throw invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data)
    }
    buf = data
    // Node's order (fs/promises write): the options' defaults, then `offset` validated, and only
    // then a non-number `length` computed from it (a Symbol offset is ERR_INVALID_ARG_TYPE, not
    // a TypeError from the subtraction).
    let rawOff: unknown
    let rawLen: unknown
    let rawPos: unknown
    if (typeof offset === 'object') {
      // write(buffer, options): `null` too (then every field is its default).
      const o = offset ?? {}
      rawOff = o.offset === undefined ? 0 : o.offset
      rawLen = o.length === undefined ? buf.byteLength - (rawOff as number) : o.length
      rawPos = o.position
    } else {
      rawOff = offset
      rawLen = length
      rawPos = position
    }
    if (rawOff == null) rawOff = 0
    else validateInteger(rawOff, 'offset', 0, Number.MAX_SAFE_INTEGER)
    off = rawOff as number
    // Node: a length that is not a number is the rest of the buffer.
    len = typeof rawLen === 'number' ? rawLen : buf.byteLength - off
    validateWriteRange(off, len, buf.byteLength)
    pos = writePosition(rawPos)
  }
  return { buf, off, len, pos }
}

/** What Node's FileHandle methods reject with when called on something else (`fh.stat.call({})`). */
export function notAHandle(): Error {
  return codedError(
    Error,
    'ERR_INTERNAL_ASSERTION',
    'handle must be an instance of FileHandle\nThis is caused by either a bug in Node.js or incorrect usage of Node.js internals.\nPlease open an issue with this stack trace at https://github.com/nodejs/node/issues\n'
  )
}

export function validateBufferArray(buffers: unknown): asserts buffers is readonly NodeJS.ArrayBufferView[] {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b))) {
    throw invalidArgType('buffers', 'an ArrayBufferView[]', buffers)
  }
}

/**
 * The position of `readv`/`writev` as Node takes it (seen on Node 20 and 24): a safe integer
 * >= 0 is a position; anything else (not a number, 1.5, NaN, -2, 2^53) is the current
 * position. Never an error.
 */
export function vectorPosition(position: unknown): number {
  return typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : -1
}

/**
 * `stat(options)`'s options as the running Node checks them; whether they ask for bigints.
 * Throws Node's error.
 */
export function statWantsBigint(options: StatOptions | undefined): boolean {
  if (STAT_OPTIONS_OBJECT && options !== undefined) {
    // Node 26: options must be an object, and `options.signal` is checked (type, then aborted).
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgType('options', 'of type object', options)
    }
    const signal = (options as { signal?: unknown }).signal
    if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
      throw invalidArgType('options.signal', 'an instance of AbortSignal', signal)
    }
    throwIfAborted(signal as AbortSignal | undefined)
  }
  // Node 20-24: `options = { bigint: false }` (so `null` fails reading `.bigint`, as there), and
  // `options.bigint` goes to C++, which takes only `true` (IsTrue) for bigints.
  return (options === undefined ? false : (options as StatOptions).bigint) === true
}
