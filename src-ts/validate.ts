/**
 * Argument checks, done before anything reaches the ring, with Node's error codes and wording.
 * Not part of the public API.
 * @module
 */
import { fileURLToPath } from 'node:url'
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js'

/** What Node accepts as a path. */
export type PathLike = string | Buffer | URL

const INT32_MAX = 2 ** 31 - 1
/** Largest byte count one read or write is given (the kernel's MAX_RW_COUNT). */
export const MAX_RW = 0x7ffff000

export function validateFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd)
  if (!Number.isInteger(fd)) throw outOfRange('fd', 'an integer', fd)
  if (fd < 0 || fd > INT32_MAX) throw outOfRange('fd', `>= 0 && <= ${INT32_MAX}`, fd)
}

export function validateBuffer(buffer: unknown, name = 'buffer'): asserts buffer is NodeJS.ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', buffer)
}

export function validateInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value)
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value)
}

export function validateOffsetLength(offset: unknown, length: unknown, byteLength: number): void {
  validateInteger(offset, 'offset', 0, byteLength)
  validateInteger(length, 'length', 0, Math.min(MAX_RW, byteLength - (offset as number)))
}

/**
 * `FileHandle.read`'s range checks, worded as Node's: `offset` an integer >= 0, then
 * validateOffsetLengthRead (`length` >= 0, then `<= byteLength - offset`).
 */
export function validateReadRange(offset: unknown, length: unknown, byteLength: number): void {
  validateInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
  if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length)
  if (!Number.isInteger(length)) throw outOfRange('length', 'an integer', length)
  if (length < 0) throw outOfRange('length', '>= 0', length)
  if (offset + length > byteLength) throw outOfRange('length', `<= ${byteLength - offset}`, length)
}

/**
 * `FileHandle.write`'s range checks, worded as Node's: `offset` an integer >= 0, then
 * validateOffsetLengthWrite (`offset <= byteLength`, `length <= byteLength - offset`,
 * `length >= 0`, `length` an int32).
 */
export function validateWriteRange(offset: unknown, length: number, byteLength: number): void {
  validateInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER)
  if (offset > byteLength) throw outOfRange('offset', `<= ${byteLength}`, offset)
  if (length > byteLength - offset) throw outOfRange('length', `<= ${byteLength - offset}`, length)
  if (length < 0) throw outOfRange('length', '>= 0', length)
  validateInteger(length, 'length', 0, INT32_MAX)
}

/**
 * A write's position as Node takes it (`FileHandle.write`, buffer or string, Node 20 to 24): a
 * safe integer >= 0 is a position; anything else that is not a bigint (null, -2, 1.5, NaN, a
 * string, 2^53) means the current file position (-1) and is not an error.
 */
export function writePosition(position: unknown): number {
  // A bigint is the one exception, on purpose: boros writes at it (Node writes at the current
  // position); pinned by the differential suite's "divergence" test.
  if (typeof position === 'bigint') return validatePosition(position)
  return typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : -1
}

/** `null`/`undefined`/-1 mean "the current file position" (-1 natively). */
export function validatePosition(position: unknown): number
export function validatePosition(position: unknown, length: number): number | bigint
export function validatePosition(position: unknown, length?: number): number | bigint {
  if (position == null) return -1
  if (typeof position === 'bigint') {
    // Node 24: a bigint position may go up to 2^63 - 1 - length (the read or write then fails
    // with EFBIG/EOVERFLOW, or reads 0 at the end of the file). Positions past 2^53 - 1 cannot be
    // a double: they come back as a bigint (the caller serves them through node:fs).
    const max = length === undefined ? BigInt(Number.MAX_SAFE_INTEGER) : 2n ** 63n - 1n - BigInt(length)
    if (position < -1n || position > max) throw outOfRange('position', `>= -1 && <= ${max}`, position)
    return position <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(position) : position
  }
  if (typeof position !== 'number') throw invalidArgType('position', 'of type bigint or integer', position) // Node: ['integer', 'bigint']
  if (!Number.isInteger(position)) throw outOfRange('position', 'an integer', position)
  if (position < -1 || position > Number.MAX_SAFE_INTEGER) {
    throw outOfRange('position', `>= -1 && <= ${Number.MAX_SAFE_INTEGER}`, position)
  }
  return position
}

/** Normalizes a path as Node does, rejecting NUL bytes. */
export function toPath(path: unknown, name = 'path'): string {
  let p: string
  if (typeof path === 'string') p = path
  else if (Buffer.isBuffer(path)) p = path.toString('utf8')
  else if (path instanceof URL) {
    if (path.protocol !== 'file:') {
      throw Object.assign(new TypeError('The URL must be of scheme file'), { code: 'ERR_INVALID_URL_SCHEME' })
    }
    p = fileURLToPath(path)
  } else throw invalidArgType(name, 'of type string or an instance of Buffer or URL', path)
  if (p.includes('\u0000')) {
    throw invalidArgValue(name, p, 'must be a string, Uint8Array, or URL without null bytes')
  }
  return p
}

export function validateSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal != null && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal)
  }
}
