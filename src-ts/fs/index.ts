/**
 * `boros/fs`: a `node:fs/promises`-shaped file API on io_uring.
 *
 * Where io_uring cannot be used (see `runtime().fallbackReason`), every function here is
 * served by `node:fs/promises` instead, with the same results and errors.
 * @module
 */
import type * as NodeFsp from 'node:fs/promises'
import { nodeFsp as fsp } from '../node-fsp.js'
import { constants, type BigIntStats, type Stats } from 'node:fs'
import { nativeBinding, usesRing } from '../binding.js'
import { submit } from '../submit.js'
import { ENOENT, ENOTDIR } from '../errno.js'
import { AbortError, invalidArgValue, systemError, type SystemError } from '../errors.js'
import { toPath, validateInteger, type PathLike } from '../validate.js'
import { FileHandle, type StatOptions } from './file-handle.js'
import { parseFlags, parseMode } from './flags.js'
import { WRITE_FILE_MODE_FIRST } from '../node-facts.js'
import { encodingOf, flushOf, getOptions, type FileOptions } from './options.js'
import {
  ownedBuffer,
  READ_ERRORS_NAME_PATH,
  readAll,
  throwIfAborted,
  toBytes,
  writeAll,
  writeAllAt,
  type Encoding,
  type WriteData
} from './io.js'
import { STAT_FIELDS, toStats } from './stats.js'
import { readFileLinked } from './one-trip.js'
import { open } from './open.js'

export { FileHandle, constants }
export { readChunks, type ReadChunksOptions, type ChunkSource } from '../chunks.js'
export * from './paths.js'
export { createReadStream, createWriteStream } from './path-streams.js'
export { open, type OpenOptions } from './open.js'
export type { ReadStreamOptions, WriteStreamOptions, WebStreamOptions } from './streams.js'
export type { ReadOptions, ReadResult, WriteResult, ReadVResult, WriteVResult, StatOptions } from './handle-types.js'
export type { Encoding, WriteData } from './io.js'
export type { PathLike } from '../validate.js'

/** Options of the module-level `readFile`. */
export interface ReadFileOptions {
  /** Decode the contents with this encoding and resolve with a string. */
  readonly encoding?: Encoding | null
  /** Open flags (default `'r'`). */
  readonly flag?: string | number
  /** Cancels the read in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
}

/** Options of the module-level `writeFile`. */
export interface WriteFileOptions {
  /** Encoding of string data (default `'utf8'`). */
  readonly encoding?: Encoding | null
  /** Mode of a newly created file (default `0o666`, minus the umask). */
  readonly mode?: number | string
  /** Open flags (default `'w'`). */
  readonly flag?: string | number
  /** Cancels the write in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
  /** `fsync` the file before closing it. */
  readonly flush?: boolean
}

/** A FileHandle from this module, or (on the fallback backend) node's own. */
export type AnyFileHandle = FileHandle | NodeFsp.FileHandle

async function closeQuietly(fh: FileHandle): Promise<void> {
  await fh.close().catch(() => undefined)
}

/**
 * Reads a whole file. A small file takes one trip through the loop (open and reads linked
 * and submitted together); a large one is read into one allocation sized from its size.
 * `path` may also be an open `FileHandle` (read from its current position).
 */
export function readFile(
  path: PathLike | FileHandle,
  options?: ReadFileOptions | Encoding | null
): Promise<Buffer | string> {
  // The common case without an async function frame (one promise fewer per file).
  try {
    const opts = getOptions(options, READ_DEFAULTS)
    // `options.buffer` (read into the caller's buffer, Node 24.x): node:fs serves it, with its
    // own checks (a Node without it ignores the key, and so does node:fs there).
    if ((opts as { buffer?: unknown }).buffer !== undefined && !(path instanceof FileHandle)) {
      return fsp.readFile(path as Parameters<typeof fsp.readFile>[0], options as Parameters<typeof fsp.readFile>[1])
    }
    if (
      !(path instanceof FileHandle) &&
      opts.signal == null &&
      (opts.flag === undefined || opts.flag === 'r') &&
      usesRing()
    ) {
      const p = toPath(path)
      const linked = readFileLinked(p, (fh, first) => readRest(p, fh, first))
      if (linked !== undefined) {
        const encoding = encodingOf(opts)
        return encoding ? linked.then((data) => data.toString(encoding)) : linked
      }
    }
    return readFileSlow(path, options, opts)
  } catch (e) {
    return Promise.reject(e)
  }
}

const READ_DEFAULTS: FileOptions = { flag: 'r' }

async function readFileSlow(
  path: PathLike | FileHandle,
  options: ReadFileOptions | Encoding | null | undefined,
  opts: FileOptions
): Promise<Buffer | string> {
  // The fallback is node:fs's readFile itself; the handle it is given, if any, is node's own
  // FileHandle (what `open` returns there).
  if (!usesRing())
    return fsp.readFile(path as Parameters<typeof fsp.readFile>[0], options as Parameters<typeof fsp.readFile>[1])
  if (path instanceof FileHandle) return path.readFile(opts as ReadFileOptions)
  const p = toPath(path)
  if (opts.signal?.aborted) throw new AbortError(undefined, { cause: opts.signal.reason })
  // Node: `options.flag || 'r'`.
  const fh = await open(p, opts.flag || 'r')
  try {
    const st = await fh.stat()
    const data = await readAll(fh, st.isFile() ? st.size : 0, opts.signal).catch((e: unknown) => {
      throw withReadPath(e, p)
    })
    const encoding = encodingOf(opts)
    return encoding ? data.toString(encoding) : data
  } finally {
    await closeQuietly(fh)
  }
}

/** A read error of `readFile(path)` as the running Node reports it (see `READ_ERRORS_NAME_PATH`). */
function withReadPath(e: unknown, p: string): unknown {
  const err = e as Partial<SystemError>
  if (!READ_ERRORS_NAME_PATH || err.syscall !== 'read' || err.path !== undefined || typeof err.errno !== 'number')
    return e
  return systemError(err.errno, 'read', p)
}

/**
 * The rest of a file whose first `first.length` bytes the one-trip readFile read, on the same
 * (direct) descriptor, from the file position those reads left; closes it.
 */
async function readRest(p: string, fh: FileHandle, first: Buffer): Promise<Buffer> {
  try {
    // The size of the file we have open (fstat of it, not of the path, which may have been
    // replaced meanwhile), before and after the reads, on one descriptor installed for both;
    // 0 where the kernel cannot give a direct descriptor one (< 6.8): read until EOF.
    return await fh
      ._withSizes(async (sizeNow) => {
        const size = (await sizeNow()) ?? 0
        return readAll(fh, size, undefined, first, sizeNow)
      })
      .catch((e: unknown) => {
        throw withReadPath(e, p)
      })
  } finally {
    await closeQuietly(fh)
  }
}

/** Writes a whole file, continuing short writes until every byte is written. */
export async function writeFile(
  path: PathLike | FileHandle,
  data: WriteData,
  options?: WriteFileOptions | Encoding | null
): Promise<void> {
  // The fallback is node:fs's writeFile itself, with its own validation order and checks; the
  // handle it is given, if any, is node's own FileHandle (what `open` returns there).
  if (!usesRing())
    return fsp.writeFile(
      path as Parameters<typeof fsp.writeFile>[0],
      data as Parameters<typeof fsp.writeFile>[1],
      options as Parameters<typeof fsp.writeFile>[2]
    )
  // Node's order: the options (type, encoding, signal), flush, the data, then the path.
  const opts = getOptions(options, WRITE_DEFAULTS)
  const flush = flushOf(opts)
  if (WRITE_FILE_MODE_FIRST) parseMode(opts.mode, 0o666)
  const bytes = toBytes(data, encodingOf(opts) ?? 'utf8')
  // On a handle, `writeAll` checks the signal before the first byte (and before taking
  // anything from an iterable), even for empty data.
  if (path instanceof FileHandle) return path._writeAllOf(bytes, opts.signal)
  // Like Node: an already-aborted signal rejects before the path is opened, so nothing is
  // created or truncated, whatever the data (empty included). Path and flags are validated
  // after, as Node's `open` does.
  throwIfAborted(opts.signal)
  const p = toPath(path)
  // Node: `options.flag || 'w'` (so '' and 0 are 'w'). Node 26 writes data of up to 512 KiB
  // without flush in one trip, whose flags are named `options.flag` in its errors.
  const oneTrip = WRITE_FILE_MODE_FIRST && !flush && bytes instanceof Uint8Array && bytes.byteLength <= 512 * 1024
  const flags = parseFlags(opts.flag || 'w', 'w', oneTrip ? 'options.flag' : 'flags')
  const fh = await open(p, flags, opts.mode)
  // An fsync follows the writes: the file is written behind (write-behind.ts).
  if (flush) fh._expectSync()
  try {
    // A file we opened without O_APPEND is written from position 0: several writes can be
    // in flight at their own positions.
    if (bytes instanceof Uint8Array && (flags & constants.O_APPEND) === 0) await writeAllAt(fh, bytes, 0, opts.signal)
    else await writeAll(fh, bytes, opts.signal)
    if (flush) await fh.sync()
  } finally {
    await closeQuietly(fh)
  }
}

/** Appends to a file, creating it if needed (flag `'a'`). */
export function appendFile(
  path: PathLike | FileHandle,
  data: WriteData,
  options?: WriteFileOptions | Encoding | null
): Promise<void> {
  if (!usesRing()) return fsp.appendFile(path as Parameters<typeof fsp.appendFile>[0], data as string, options as null)
  let opts: FileOptions
  try {
    opts = getOptions(options, APPEND_DEFAULTS)
  } catch (e) {
    return Promise.reject(e)
  }
  // Node: `options.flag || 'a'`.
  return writeFile(path, data, { ...opts, flag: opts.flag || 'a' } as WriteFileOptions)
}

const WRITE_DEFAULTS: FileOptions = { encoding: 'utf8', mode: 0o666, flag: 'w', flush: false }
const APPEND_DEFAULTS: FileOptions = { encoding: 'utf8', mode: 0o666, flag: 'a' }

async function statPath(
  path: PathLike,
  follow: boolean,
  syscall: string,
  options?: StatOptions
): Promise<Stats | BigIntStats> {
  // Options that are not a plain object: Node 20-24 fail reading `.bigint` of `null`, Node 26
  // checks the type first (ERR_INVALID_ARG_TYPE, `STAT_OPTIONS_OBJECT`); a `signal`: Node 26
  // checks it, 20-24 ignore it. The running Node's own function answers, in its order.
  if (
    options !== undefined &&
    (options === null ||
      typeof options !== 'object' ||
      Array.isArray(options) ||
      (options as { signal?: unknown }).signal !== undefined)
  ) {
    return (follow ? fsp.stat : fsp.lstat)(path, options)
  }
  const p = toPath(path)
  // `options.bigint` goes to C++, which takes only `true` (IsTrue) for bigints.
  const bigint = options === undefined ? false : (options as StatOptions).bigint
  if (bigint === true || !usesRing()) return (follow ? fsp.stat : fsp.lstat)(p, options)
  const out = new Float64Array(STAT_FIELDS)
  return submit(
    (b, t) => b.statx(p, -1, follow, out, t),
    (result) => {
      if (result < 0) {
        // `throwIfNoEntry` (fs/promises stat: Node 25.7+, backported to 24.x; node-facts.ts):
        // where the entry is missing, the running Node's own answer (undefined, or its error).
        if ((result === ENOENT || result === ENOTDIR) && options?.throwIfNoEntry !== undefined) {
          return (follow ? fsp.stat : fsp.lstat)(p, options) as unknown as Stats
        }
        throw systemError(result, syscall, p)
      }
      return toStats(out)
    }
  )
}

/** `stat(2)` through statx. `{ bigint: true }` is served by node:fs (Node's `BigIntStats`). */
export function stat(path: PathLike, options?: StatOptions & { readonly bigint?: false }): Promise<Stats>
export function stat(path: PathLike, options: StatOptions & { readonly bigint: true }): Promise<BigIntStats>
export function stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats>
export function stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
  return statPath(path, true, 'stat', options)
}

/** `lstat(2)` through statx (does not follow a final symlink). `{ bigint: true }`: node:fs. */
export function lstat(path: PathLike, options?: StatOptions & { readonly bigint?: false }): Promise<Stats>
export function lstat(path: PathLike, options: StatOptions & { readonly bigint: true }): Promise<BigIntStats>
export function lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats>
export function lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
  return statPath(path, false, 'lstat', options)
}

/**
 * A zero-filled Buffer of `size` bytes whose memory starts at a multiple of `alignment`
 * (a power of two, default 4096), as `O_DIRECT` needs. Its memory is owned natively, so reads
 * into it go straight from the kernel into it, without a copy. On the fallback backend it is
 * the same natively owned memory where the binary loaded (io_uring refused or
 * `BOROS_BACKEND=fallback`), and without the binary an ordinary zero-filled Buffer, aligned
 * only as far as V8 happens to align it.
 */
export function alignedBuffer(size: number, alignment = 4096): Buffer {
  validateInteger(size, 'size', 0, 2 ** 32)
  validateInteger(alignment, 'alignment', 1, 2 ** 30)
  if ((alignment & (alignment - 1)) !== 0) throw invalidArgValue('alignment', alignment, 'must be a power of two')
  if (usesRing()) return ownedBuffer(size, alignment)
  // Off the ring the binary still allocates aligned memory (no ring needed), where it loaded.
  return (nativeBinding()?.ownedBuffer(size, alignment) as Buffer | undefined) ?? Buffer.alloc(size)
}
