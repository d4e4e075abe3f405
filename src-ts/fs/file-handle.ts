/**
 * `FileHandle`: an open file, mirroring `node:fs/promises`' FileHandle.
 *
 * A handle names its file with a {@link FileRef}: a descriptor, or a slot of the ring's
 * registered file table (`open(path, { direct: true })`). Every method works on both: through
 * the ring where io_uring has an opcode (the slot goes to the SQE with `IOSQE_FIXED_FILE`),
 * otherwise on a descriptor — the handle's own, or for a slot one installed for the call
 * (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8) and closed after it (`#withDescriptor`). A slot is
 * never handed to anything that takes a descriptor: the types keep them apart.
 *
 * Reads and writes pick their path in one place each (`#read`, `#write`): a `BufferPool`
 * buffer in place, the shared queue's arena for small ones, natively owned memory, a routed
 * read (tmpfs, procfs), or a bounce buffer.
 * @module
 */
import { EventEmitter } from 'node:events'
import { nodeFs } from '../node-fs.js'
import type { BigIntStats, Stats } from 'node:fs'
import { submit } from '../submit.js'
import { codes, systemError } from '../errors.js'
import { fileNumber, type FileRef } from '../file-ref.js'
import { validateInteger, MAX_RW } from '../validate.js'
import { FILE_KIND_FD, FILE_KIND_FIXED, STAT_FIELDS } from '../wire.js'
import { parseMode } from './flags.js'
import type {
  ReadFileOptions,
  ReadOptions,
  ReadResult,
  ReadVResult,
  StatOptions,
  WriteFileOptions,
  WriteResult,
  WriteVResult
} from './handle-types.js'
import {
  IO_MAX_LENGTH,
  readAll,
  throwIfAborted,
  toBytes,
  tooLarge,
  writeAll,
  type Encoding,
  type WriteData
} from './io.js'
import { readIntoUserBuffer, takesUserBuffer, validateUserBuffer, type UserBuffer } from './user-buffer.js'
import { WRITE_FILE_MODE_FIRST } from '../node-facts.js'
import { ebadf, FileIo, id, none } from './file-io.js'
import { unclosed } from './unclosed.js'
import { notAHandle, readArgs, statWantsBigint, validateBufferArray, vectorPosition, writeArgs } from './handle-args.js'
import { encodingOf, flushOf, getOptions } from './options.js'
import { hasOp } from './op-support.js'
import { toStats } from './stats.js'
import * as streams from './streams.js'
import { EINVAL, IOV_MAX } from '../errno.js'

export type * from './handle-types.js'

/**
 * An open file. Every operation goes through this thread's io_uring. Like Node's, `close()`
 * waits for operations in flight on the handle, and operations after close reject with EBADF.
 */
export class FileHandle extends EventEmitter {
  /** The file; `undefined` once closed. */
  #file: FileRef | undefined
  readonly #fixed: boolean
  #closing: Promise<void> | undefined
  /** Every read and write of the handle, and the count of them in flight (see file-io.ts). */
  readonly #io: FileIo

  /** @internal */
  constructor(file: FileRef) {
    super()
    this.#file = file
    this.#fixed = file.kind === FILE_KIND_FIXED
    this.#io = new FileIo(() => this.#open())
    unclosed.register(this, file, this)
  }

  /**
   * The descriptor, or -1 once closed. A direct handle (`open(path, { direct: true })`) has no
   * descriptor in the process's file table: its `fd` is -1, so that code passing it to
   * `node:fs` fails with EBADF instead of reaching an unrelated file.
   */
  get fd(): number {
    const f = this.#file
    return f?.kind === FILE_KIND_FD ? f.fd : -1
  }

  /** Whether this handle is a direct descriptor (a slot of the ring's registered file table). */
  get direct(): boolean {
    return this.#fixed
  }

  /** Whether `x` is a FileHandle of this module (methods called with another `this` reject). */
  static #is(x: unknown): x is FileHandle {
    return typeof x === 'object' && x !== null && #file in x
  }

  /** The file, if the handle is open and not closing. */
  #open(): FileRef | undefined {
    return this.#closing === undefined ? this.#file : undefined
  }

  /**
   * Reads from the file into a buffer: `read(buffer, offset?, length?, position?)`,
   * `read(buffer, options?)`, or `read(options?)`.
   */
  read<T extends NodeJS.ArrayBufferView = Buffer>(
    buffer?: T | ReadOptions<T>,
    offset?: number | ReadOptions<T> | null,
    length?: number | null,
    position?: number | bigint | null
  ): Promise<ReadResult<T>> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    // Node's fsCall: a closed handle is EBADF before any argument is looked at.
    if (this.#open() === undefined) return Promise.reject(ebadf('read'))
    try {
      const a = readArgs(buffer, offset, length, position)
      const view = a.view
      if (a.len === 0) return Promise.resolve({ bytesRead: 0, buffer: view })
      const read =
        typeof a.pos === 'bigint'
          ? this.#io.farRead(view, a.off, a.len, a.pos)
          : this.#io.read(view, a.off, a.len, a.pos, a.signal)
      return read.then((bytesRead) => ({ bytesRead, buffer: view }))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /**
   * Writes to the file: `write(buffer, offset?, length?, position?)`, `write(buffer, options?)`,
   * or `write(string, position?, encoding?)`. One write: may be short, like Node's.
   */
  write<T extends NodeJS.ArrayBufferView | string>(
    data: T,
    offset?: number | null | { offset?: number; length?: number; position?: number | bigint | null },
    length?: number | Encoding | null,
    position?: number | bigint | null
  ): Promise<WriteResult<T>> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    // Node's fsCall: a closed handle is EBADF before any argument is looked at.
    if (this.#open() === undefined) return Promise.reject(ebadf('write'))
    try {
      const a = writeArgs(data, offset, length, position)
      if (a === undefined) return Promise.resolve({ bytesWritten: 0, buffer: data })
      const written = this.#io.write(a.buf, a.off, a.len, a.pos)
      return written.then((n) => ({ bytesWritten: n, buffer: data }))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** `fstat` through statx; `{ bigint: true }`: `node:fs` `fstat`, which builds Node's `BigIntStats`. */
  stat(options?: StatOptions & { readonly bigint?: false }): Promise<Stats>
  stat(options: StatOptions & { readonly bigint: true }): Promise<BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    let bigint: boolean
    try {
      bigint = statWantsBigint(options)
    } catch (e) {
      return Promise.reject(e)
    }
    if (bigint) {
      return this.#io.nodeFs<BigIntStats>('fstat', (fd, cb) => nodeFs.fstat(fd, { bigint: true }, cb))
    }
    const file = this.#open()
    if (file?.kind === FILE_KIND_FD) {
      const out = new Float64Array(STAT_FIELDS)
      const fd = file.fd
      return this.#io.op(
        'fstat',
        (b, _k, _f, t) => b.statx(null, fd, true, out, t),
        () => toStats(out)
      )
    }
    return this.#io.withDescriptor('fstat', (fd) => {
      const out = new Float64Array(STAT_FIELDS)
      return submit(
        (b, t) => b.statx(null, fd, true, out, t),
        (result) => {
          if (result < 0) throw systemError(result, 'fstat')
          return toStats(out)
        }
      )
    })
  }

  /** `fsync(2)`. */
  sync(): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    this.#io.expectSync(this.#open())
    return this.#io.op('fsync', (b, k, f, t) => b.fsync(k, f, false, t), none)
  }

  /** `fdatasync(2)`. */
  datasync(): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    this.#io.expectSync(this.#open())
    return this.#io.op('fdatasync', (b, k, f, t) => b.fsync(k, f, true, t), none)
  }

  /**
   * Reads into `buffers` in order, from `position` (a number; anything else, as in Node: the
   * current position). Each buffer is one io_uring read; reading stops at the first short
   * read (end of file), so the result is what one `preadv(2)` gives on a regular file.
   */
  async readv<T extends readonly NodeJS.ArrayBufferView[]>(
    buffers: T,
    position?: number | null
  ): Promise<ReadVResult<T>> {
    if (!FileHandle.#is(this)) throw notAHandle()
    if (this.#open() === undefined) throw ebadf('readv')
    validateBufferArray(buffers)
    let pos = vectorPosition(position)
    // preadv(2) with no buffers fails with EINVAL, and Node reports that.
    if (buffers.length === 0) throw systemError(EINVAL, 'read')
    let bytesRead = 0
    for (const b of buffers) {
      if (b.byteLength === 0) continue
      const len = Math.min(b.byteLength, MAX_RW)
      const n = await this.#io.read(b, 0, len, pos)
      bytesRead += n
      if (pos >= 0) pos += n
      if (n < b.byteLength) break
    }
    return { bytesRead, buffers }
  }

  /**
   * Writes `buffers` in order at `position` (a number; anything else, as in Node: the current
   * position) with one io_uring `writev` (several when there are more than 1024 buffers).
   * Like Node's, it may write less than everything; `bytesWritten` says how much.
   */
  async writev<T extends readonly NodeJS.ArrayBufferView[]>(
    buffers: T,
    position?: number | null
  ): Promise<WriteVResult<T>> {
    if (!FileHandle.#is(this)) throw notAHandle()
    if (this.#open() === undefined) throw ebadf('writev')
    validateBufferArray(buffers)
    let pos = vectorPosition(position)
    if (buffers.length === 0) return { bytesWritten: 0, buffers }
    let bytesWritten = 0
    for (let i = 0; i < buffers.length; i += IOV_MAX) {
      const chunk = buffers.slice(i, i + IOV_MAX)
      const want = chunk.reduce((sum, b) => sum + b.byteLength, 0)
      const at = pos
      const file = this.#open()
      if (file !== undefined) this.#io.wrote(file, this.#io.routeOf(file), want, at)
      const n = await this.#io.op('write', (b, k, f, t) => b.writev(k, f, chunk, at, t), id)
      bytesWritten += n
      if (pos >= 0) pos += n
      if (n < want) break
    }
    return { bytesWritten, buffers }
  }

  /**
   * Truncates (or extends with zeroes) the file to `len` bytes (default 0; negative: 0).
   * io_uring `ftruncate` on Linux 6.9+, the `ftruncate` system call through node:fs before.
   */
  truncate(len = 0): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('ftruncate'))
    try {
      validateInteger(len, 'len', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    } catch (e) {
      return Promise.reject(e)
    }
    const size = Math.max(0, len)
    if (hasOp('ftruncate')) return this.#io.op('ftruncate', (b, k, f, t) => b.ftruncate(k, f, size, t), none)
    return this.#io.nodeFs('ftruncate', (fd, cb) => nodeFs.ftruncate(fd, size, cb))
  }

  /** `fchmod(2)` (through node:fs: io_uring has no opcode for it). */
  chmod(mode: string | number): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('fchmod'))
    let m: number
    try {
      // Node's parseFileMode(mode, 'mode') with no default: null and undefined are refused.
      m = parseMode(mode ?? undefined, undefined)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#io.nodeFs('fchmod', (fd, cb) => nodeFs.fchmod(fd, m, cb))
  }

  /** `fchown(2)` (through node:fs: io_uring has no opcode for it). `-1` leaves an id as is. */
  chown(uid: number, gid: number): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('fchown'))
    try {
      validateInteger(uid, 'uid', -1, 2 ** 32 - 1)
      validateInteger(gid, 'gid', -1, 2 ** 32 - 1)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#io.nodeFs('fchown', (fd, cb) => nodeFs.fchown(fd, uid, gid, cb))
  }

  /** `futimens(2)` (through node:fs: io_uring has no opcode for it). Times as in Node. */
  utimes(atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('futimes'))
    return this.#io.nodeFs('futimes', (fd, cb) => nodeFs.futimes(fd, atime, mtime, cb))
  }

  /** Reads from the current position to the end of the file. */
  async readFile(options?: ReadFileOptions | Encoding | null): Promise<Buffer | string> {
    if (!FileHandle.#is(this)) throw notAHandle()
    if (this.#open() === undefined) throw ebadf('readFile') // Node's fsCall(readFile, ...)
    const opts = getOptions(options)
    // `options.buffer` (Node 24.22, 26): checked first, used once the size is known.
    const user = takesUserBuffer() ? (opts as { buffer?: UserBuffer }).buffer : undefined
    validateUserBuffer(user)
    throwIfAborted(opts.signal)
    // A direct handle on a kernel before 6.8 cannot be stat'ed (no FIXED_FD_INSTALL): read until EOF.
    const st = await this.stat().catch((e: { code?: string }) => {
      if (this.#fixed && e.code === codes.UNSUPPORTED_OP) return undefined
      throw e
    })
    throwIfAborted(opts.signal)
    const size = st?.isFile() ? st.size : 0
    const encoding = encodingOf(opts)
    if (user !== undefined) {
      if (size > IO_MAX_LENGTH) throw tooLarge(size)
      return readIntoUserBuffer(this, user, size, encoding, opts.signal)
    }
    const data = await readAll(this, size, opts.signal)
    return encoding ? data.toString(encoding) : data
  }

  /** Writes all of `data` at the current position. */
  async writeFile(data: WriteData, options?: WriteFileOptions | Encoding | null): Promise<void> {
    if (!FileHandle.#is(this)) throw notAHandle()
    if (this.#open() === undefined) throw ebadf('writeFile') // Node's fsCall(writeFile, ...)
    // Node's order (writeFile): the options (type, encoding, signal), flush, then the data.
    const opts = getOptions(options, { encoding: 'utf8', flush: false })
    flushOf(opts)
    if (WRITE_FILE_MODE_FIRST) parseMode((opts as { mode?: unknown }).mode, 0o666)
    await writeAll(this, toBytes(data, encodingOf(opts) ?? 'utf8'), opts.signal)
  }

  /** Same as `writeFile` (appending when the file was opened with an `a` flag). */
  appendFile(data: WriteData, options?: WriteFileOptions | Encoding | null): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('appendFile')) // Node's fsCall(appendFile, ...)
    return this.writeFile(data, options)
  }

  /** @internal `writeFile(fh, data)` of the module: `data` and the options already checked. */
  _writeAllOf(
    bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    signal: AbortSignal | undefined
  ): Promise<void> {
    if (this.#open() === undefined) return Promise.reject(ebadf('writeFile'))
    return writeAll(this, bytes, signal)
  }

  /** @internal An fsync of the file will follow its writes (`writeFile` with `flush: true`): write-behind.ts. */
  _expectSync(): void {
    this.#io.expectSync(this.#open())
  }

  /** @internal Closed (not just closing): streams over the handle end. */
  get _closed(): boolean {
    return this.#file === undefined
  }

  /** @internal `close()` was called and has not finished. */
  get _closing(): boolean {
    return this.#closing !== undefined && this.#file !== undefined
  }

  /** @internal Whether the file was opened with `O_DIRECT` (reads need aligned owned buffers). */
  get _oDirect(): boolean {
    const file = this.#open()
    return file !== undefined && this.#io.routeOf(file)?.oDirect === true
  }

  /**
   * @internal Raw read used by readFile and streams: resolves with bytes read. `owned`: `buf`
   * is an owned buffer (see `ownedBuffer`), read into without a copy.
   */
  _readInto(
    buf: Uint8Array,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned = false
  ): Promise<number> {
    return this.#io.read(buf, off, len, pos, signal, owned)
  }

  /** @internal The file's size now, for readFile's check after its reads (`FileIo.sizeNow`). */
  _sizeNow(): Promise<number | undefined> | number | undefined {
    return this.#io.sizeNow(() => this.stat())
  }

  /** @internal Runs `use` with a way to read the file's size now, on one descriptor (`FileIo.withSizes`). */
  _withSizes<T>(use: (sizeNow: () => Promise<number | undefined> | number | undefined) => Promise<T>): Promise<T> {
    return this.#io.withSizes(use)
  }

  /** @internal Raw write used by writeFile and streams: resolves with bytes written. */
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal | null): Promise<number> {
    return this.#io.write(buf, off, len, pos, signal)
  }

  /** A readable Node stream of the file (see `createReadStream` of `boros/fs`). */
  createReadStream(options?: streams.ReadStreamOptions): import('node:fs').ReadStream {
    return streams.handleReadStream(this, options)
  }

  /** A writable Node stream into the file (see `createWriteStream` of `boros/fs`). */
  createWriteStream(options?: streams.WriteStreamOptions): import('node:fs').WriteStream {
    return streams.handleWriteStream(this, options)
  }

  /** A `readline` interface over the file's lines, like Node's `filehandle.readLines()`. */
  readLines(options?: streams.ReadStreamOptions): import('node:readline').Interface {
    return streams.readLines(this, options)
  }

  /** A web `ReadableStream` of the file's bytes (`{ type: 'bytes' }` for a byte stream). */
  readableWebStream(options?: streams.WebStreamOptions): ReadableStream<Uint8Array> {
    return streams.readableWebStream(this, options)
  }

  /** Closes the file once the operations in flight on it have finished. */
  close(): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.resolve()
    if (this.#closing !== undefined) return this.#closing
    const file = this.#file
    if (file === undefined) return Promise.resolve()
    const drained = this.#io.drained()
    this.#closing = drained.then(() =>
      submit(
        // A slot goes back to the ring's allocator when its close completes (close.rs).
        (b, t) => b.close(file.kind, fileNumber(file), t),
        (result) => {
          // Even a failed close releases the number (the kernel drops the descriptor, and the
          // slot went back to the allocator): it must never be closed twice.
          this.#file = undefined
          unclosed.unregister(this)
          if (result < 0) throw systemError(result, 'close')
          this.emit('close')
        },
        undefined,
        undefined,
        // A cancelled task's handles still close (`await using` in a cancelled task).
        { detached: true }
      )
    )
    this.#closing.catch(() => {
      this.#closing = undefined
    })
    return this.#closing
  }

  /** `await using fh = await open(...)` closes the handle at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
