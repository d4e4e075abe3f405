/**
 * Whole-file reads and writes on a handle: short reads and short writes are continued until
 * done (or end of file).
 * Not part of the public API.
 * @module
 */
import { AbortError, codedError, invalidArgType } from '../errors.js'
import { ring } from '../binding.js'

/** What reading and writing whole files needs of a handle (`FileHandle` has it). */
export interface RawFile {
  _readInto(
    buf: Uint8Array,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned?: boolean
  ): Promise<number>
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal | null): Promise<number>
  /** The file's size now (an fstat of the open file), `undefined` where it cannot be known. */
  _sizeNow(): Promise<number | undefined> | number | undefined
}

/** Encodings Node accepts. */
export type Encoding = BufferEncoding

/** What `writeFile` accepts. */
export type WriteData =
  | string
  | NodeJS.ArrayBufferView
  | Iterable<string | NodeJS.ArrayBufferView>
  | AsyncIterable<string | NodeJS.ArrayBufferView>

const CHUNK = 64 * 1024
/** Whether read errors name the path (Node 26+): see `node-facts.ts`. */
export { READ_ERRORS_NAME_PATH } from '../node-facts.js'

/** Node's limit for a whole-file read (`kIoMaxLength`). */
export const IO_MAX_LENGTH = 2 ** 31 - 1
/**
 * Largest single read of a whole-file op: cached data is copied inside `io_uring_enter`, on
 * the JS thread, so one giant read would stall the event loop for its whole copy; 64 MiB
 * bounds a stall near 10-30 ms while a 1 GiB file still takes only 16 trips.
 */
export const BIG_IO = 64 * 1024 * 1024
/**
 * Largest single write of a whole-file op. Buffered ext4 writes are punted to an io-wq worker
 * (they cannot be done with NOWAIT); measured here, 512 KiB writes finish 1 GiB 3-6x sooner
 * than 2-64 MiB ones (docs/files-internals.md).
 */
export const WRITE_IO = 512 * 1024
/** From this size on, readFile reads into natively owned memory, without a bounce copy. */
const OWNED_MIN = 256 * 1024

export function tooLarge(size: number): RangeError {
  return codedError(RangeError, 'ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`)
}

/** A Buffer whose memory is owned natively (see crates/boros-node/src/owned.rs), aligned to `alignment`. */
export function ownedBuffer(size: number, alignment = 16): Buffer {
  return ring().ownedBuffer(size, alignment) as Buffer
}

/**
 * Reads from the current position to EOF. `sizeHint` (from statx) sizes one allocation;
 * files that report 0 (procfs, pipes) are read in chunks until EOF. `first`: bytes already
 * read from the file, which the result starts with (`sizeHint` counts them). `sizeNow`: the
 * file's size after the reads (default `fh._sizeNow()`).
 */
export async function readAll(
  fh: RawFile,
  sizeHint: number,
  signal?: AbortSignal,
  first?: Buffer,
  sizeNow: () => Promise<number | undefined> | number | undefined = () => fh._sizeNow()
): Promise<Buffer> {
  if (sizeHint > IO_MAX_LENGTH) throw tooLarge(sizeHint)
  const start = first?.length ?? 0
  if (sizeHint > start) {
    const owned = sizeHint >= OWNED_MIN
    const buf = owned ? ownedBuffer(sizeHint) : Buffer.allocUnsafeSlow(sizeHint)
    first?.copy(buf)
    let filled = start
    // Like Node: read up to the size statx gave (a file that grew meanwhile is read up to that
    // size, one that shrank up to its new end), continuing short reads.
    while (filled < sizeHint) {
      // As Node's readFileHandle: the signal is read before each read (it also cancels the
      // read in flight in the kernel).
      throwIfAborted(signal)
      const n = await fh._readInto(buf, filled, Math.min(sizeHint - filled, BIG_IO), -1, signal, owned)
      if (n === 0) break
      filled += n
    }
    // A file truncated while a read copied it: the kernel zeroes the page cache past the cut
    // (the whole large folio holding it on ext4) while a read that sampled the old size goes
    // on copying from it, so that read returns the old length with zeros past the cut. The
    // bytes before the cut are right: what is past the size the file has now is cut off, so
    // the result is always a prefix of what the file held (issue 24).
    if (filled > start) {
      const now = await sizeNow()
      if (now !== undefined && now < filled) filled = Math.max(start, now)
    }
    return filled < sizeHint ? buf.subarray(0, filled) : buf
  }
  return readChunks(fh, signal, first)
}

async function readChunks(fh: RawFile, signal?: AbortSignal, first?: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = first === undefined ? [] : [first]
  let total = first?.length ?? 0
  for (;;) {
    throwIfAborted(signal)
    const chunk = Buffer.allocUnsafe(CHUNK)
    const n = await fh._readInto(chunk, 0, CHUNK, -1, signal)
    if (n === 0) break
    chunks.push(n === CHUNK ? chunk : chunk.subarray(0, n))
    total += n
    if (total > IO_MAX_LENGTH) throw tooLarge(total)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/**
 * Rejects with `AbortError` (cause: the signal's reason) when `signal` is already aborted, as
 * Node's `checkAborted` does (lib/internal/fs/promises.js).
 */
export function throwIfAborted(signal: AbortSignal | null | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
}

/**
 * Writes every byte at the current position, continuing short writes.
 *
 * An already-aborted `signal` rejects before anything is written or taken from `data`, even
 * when `data` is empty (Node's `writeFileHandle` does the same): every `writeFile` on a handle
 * (`FileHandle.writeFile`/`appendFile`, `writeFile(fh)`) goes through here, so this check covers
 * them. Like Node, it is checked again before each write and, for an iterable, after each chunk
 * is taken and after each write (a signal aborted while a write is in flight cancels that write).
 */
export async function writeAll(
  fh: RawFile,
  data: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  signal?: AbortSignal | null
): Promise<void> {
  throwIfAborted(signal)
  if (data instanceof Uint8Array) {
    let done = 0
    while (done < data.byteLength) {
      throwIfAborted(signal)
      done += await fh._writeFrom(data, done, Math.min(data.byteLength - done, WRITE_IO), -1, signal)
    }
    return
  }
  for await (const chunk of data) {
    throwIfAborted(signal)
    let done = 0
    while (done < chunk.byteLength) {
      done += await fh._writeFrom(chunk, done, Math.min(chunk.byteLength - done, WRITE_IO), -1, signal)
      throwIfAborted(signal)
    }
  }
}

/** Writes in flight at once by `writeAllAt`. */
const WRITE_DEPTH = 4

/**
 * Writes every byte of `data` at positions `start...`, with up to `WRITE_DEPTH` writes of
 * `WRITE_IO` bytes in flight (no round-trip gap between them), continuing short writes. Only
 * for a descriptor whose writes land at the given positions (not `O_APPEND`).
 */
export async function writeAllAt(fh: RawFile, data: Uint8Array, start: number, signal?: AbortSignal): Promise<void> {
  // Before the first byte, even for no bytes (see writeAll); then before each write.
  throwIfAborted(signal)
  let next = 0
  let failed = false
  const lane = async (): Promise<void> => {
    while (next < data.byteLength && !failed) {
      let off = next
      const end = Math.min(off + WRITE_IO, data.byteLength)
      next = end
      try {
        while (off < end) {
          throwIfAborted(signal)
          off += await fh._writeFrom(data, off, end - off, start + off, signal)
        }
      } catch (e) {
        failed = true
        throw e
      }
    }
  }
  const lanes = []
  for (let i = 0; i < WRITE_DEPTH; i++) lanes.push(lane())
  const settled = await Promise.allSettled(lanes)
  const bad = settled.find((r) => r.status === 'rejected')
  if (bad !== undefined) throw (bad as PromiseRejectedResult).reason
}

function asBytes(chunk: unknown, encoding: Encoding): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding)
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', chunk)
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
  throw invalidArgType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data)
}
