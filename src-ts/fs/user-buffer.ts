/**
 * `readFile({ buffer })` of a FileHandle: read the whole file into the caller's buffer, or into
 * the buffer a function returns for the file's size (Node 24.22 and 26, nodejs/node#63634). Node's
 * `readFileHandleWithUserBuffer` step by step (lib/internal/fs/promises.js), with boros' reads.
 * Whether the running Node has the option is asked of Node itself (see {@link takesUserBuffer}).
 * Not part of the public API.
 * @module
 */
import { nodeFs } from '../node-fs.js'
import { invalidArgType, invalidArgValue } from '../errors.js'
import { validateBuffer } from '../validate.js'
import { throwIfAborted, type RawFile } from './io.js'

/** Node's `kReadFileBufferLength`: the largest read of a file whose size is known. */
const READ_CHUNK = 512 * 1024

/** The caller's buffer, or a function of the file size that returns it. */
export type UserBuffer = NodeJS.ArrayBufferView | ((size: number) => NodeJS.ArrayBufferView)

let known: boolean | undefined

/**
 * Whether the running Node's `readFile` takes `options.buffer`. Asked once, without I/O: Node's
 * `readFileSync` checks `options.buffer` before the path, so a bad buffer with a path holding a
 * NUL byte throws about the buffer where the option exists and about the path where it does not.
 */
export function takesUserBuffer(): boolean {
  if (known === undefined) {
    try {
      nodeFs.readFileSync('\0', { buffer: 0 } as never)
      known = false
    } catch (e) {
      known = (e as Error).message.includes('options.buffer')
    }
  }
  return known
}

/** Node's `validateReadFileBufferOptions`: the option is a buffer, a function or absent. */
export function validateUserBuffer(buffer: unknown): void {
  if (buffer !== undefined && typeof buffer !== 'function' && !ArrayBuffer.isView(buffer)) {
    throw invalidArgType('options.buffer', 'of type function or an instance of Buffer, TypedArray, or DataView', buffer)
  }
}

/**
 * Reads the file from the current position into the caller's buffer; `size`: the file's size
 * (0 when unknown: not a regular file). Resolves with the part of the buffer read (a Buffer over
 * the same memory), decoded with `encoding` when one is given.
 */
export async function readIntoUserBuffer(
  fh: RawFile,
  option: UserBuffer,
  size: number,
  encoding: BufferEncoding | undefined,
  signal: AbortSignal | undefined
): Promise<Buffer | string> {
  const name = typeof option === 'function' ? 'options.buffer().byteLength' : 'options.buffer.byteLength'
  let view: NodeJS.ArrayBufferView
  if (typeof option === 'function') {
    view = option(size)
    validateBuffer(view, 'options.buffer()')
  } else view = option
  const buffer = Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength)
  if (size > buffer.byteLength) {
    throw invalidArgValue(name, buffer.byteLength, `is smaller than the file size of ${size} bytes`)
  }
  let total = 0
  while (total < buffer.byteLength) {
    throwIfAborted(signal)
    const length = size === 0 ? buffer.byteLength - total : Math.min(size - total, READ_CHUNK)
    const n = await fh._readInto(buffer, total, length, -1, signal)
    total += n
    if (n === 0 || total === size) {
      const result = buffer.subarray(0, total)
      return encoding ? result.toString(encoding) : result
    }
  }
  if (size === 0) {
    // The buffer is full and the size was unknown: one byte more says whether the file was larger.
    throwIfAborted(signal)
    const n = await fh._readInto(Buffer.allocUnsafeSlow(1), 0, 1, -1, signal)
    if (n !== 0) throw invalidArgValue(name, buffer.byteLength, 'is too small to contain the entire file')
  }
  return encoding ? buffer.toString(encoding) : buffer.subarray(0, total)
}
