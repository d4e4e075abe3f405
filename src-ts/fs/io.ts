/**
 * Whole-file reads and writes on a handle: short reads and short writes are continued until
 * done (or end of file).
 * Not part of the public API.
 * @module
 */
import { constants as bufferConstants } from 'node:buffer'
import { codedError, invalidArgType } from '../errors.js'
import { MAX_RW } from '../validate.js'
import type { FileHandle } from './file-handle.js'

/** Encodings Node accepts. */
export type Encoding = BufferEncoding

/** What `writeFile` accepts. */
export type WriteData =
  | string
  | NodeJS.ArrayBufferView
  | Iterable<string | NodeJS.ArrayBufferView>
  | AsyncIterable<string | NodeJS.ArrayBufferView>

const CHUNK = 64 * 1024
const MAX_LENGTH = bufferConstants.MAX_LENGTH

function tooLarge(size: number): RangeError {
  return codedError(RangeError, 'ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`)
}

/**
 * Reads from the current position to EOF. `sizeHint` (from statx) sizes one allocation;
 * files that report 0 (procfs, pipes) are read in chunks until EOF.
 */
export async function readAll(fh: FileHandle, sizeHint: number, signal?: AbortSignal): Promise<Buffer> {
  if (sizeHint > MAX_LENGTH) throw tooLarge(sizeHint)
  if (sizeHint > 0) {
    const buf = Buffer.allocUnsafeSlow(sizeHint)
    let filled = 0
    while (filled < sizeHint) {
      const n = await fh._readInto(buf, filled, Math.min(sizeHint - filled, MAX_RW), -1, signal)
      if (n === 0) break
      filled += n
    }
    if (filled < sizeHint) return buf.subarray(0, filled)
    // The file may have grown since statx: keep reading until EOF.
    const rest = await readChunks(fh, signal)
    return rest.length === 0 ? buf : Buffer.concat([buf, rest])
  }
  return readChunks(fh, signal)
}

async function readChunks(fh: FileHandle, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK)
    const n = await fh._readInto(chunk, 0, CHUNK, -1, signal)
    if (n === 0) break
    chunks.push(n === CHUNK ? chunk : chunk.subarray(0, n))
    total += n
    if (total > MAX_LENGTH) throw tooLarge(total)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/** Writes every byte at the current position, continuing short writes. */
export async function writeAll(
  fh: FileHandle,
  data: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  signal?: AbortSignal
): Promise<void> {
  if (data instanceof Uint8Array) {
    let done = 0
    while (done < data.byteLength) {
      done += await fh._writeFrom(data, done, Math.min(data.byteLength - done, MAX_RW), -1, signal)
    }
    if (data.byteLength === 0) return
    return
  }
  for await (const chunk of data) await writeAll(fh, chunk, signal)
}

function asBytes(chunk: unknown, encoding: Encoding): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding)
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw invalidArgType(
    'data',
    'of type string or an instance of Buffer, TypedArray, DataView, or an iterable of them',
    chunk
  )
}

/** Normalizes `writeFile` data to bytes, or an (async) iterable of bytes. */
export function toBytes(
  data: WriteData,
  encoding: Encoding
): Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return asBytes(data, encoding)
  if (data != null && typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const it = data as AsyncIterable<string | NodeJS.ArrayBufferView>
    return (async function* () {
      for await (const c of it) yield asBytes(c, encoding)
    })()
  }
  if (data != null && typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const it = data as Iterable<string | NodeJS.ArrayBufferView>
    return (function* () {
      for (const c of it) yield asBytes(c, encoding)
    })()
  }
  throw invalidArgType(
    'data',
    'of type string or an instance of Buffer, TypedArray, DataView, or an iterable of them',
    data
  )
}
