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
import { FAST_MAX, queuePool, queueRead, queueWrite, ring, submit, taskAborted } from '../binding.js'
import type { NativeBinding } from '../binding.js'
import { poolSlotOf, type PoolSlot } from '../buffer-pool.js'
import { codedError, codes, invalidArgType, invalidArgValue, systemError } from '../errors.js'
import { fileNumber, type FileRef } from '../file-ref.js'
import { currentTask } from '../task-context.js'
import {
  validateBuffer,
  validateInteger,
  validatePosition,
  validateReadRange,
  validateWriteRange,
  writePosition,
  MAX_RW
} from '../validate.js'
import { BOUNCE_MAX, FILE_KIND_FD, FILE_KIND_FIXED, STAT_FIELDS } from '../wire.js'
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
import { encodingOf, flushOf, getOptions } from './options.js'
import {
  oDirectError,
  learnRoute,
  pooledWrite,
  RING,
  routedRead,
  THREADPOOL,
  WRITE_POOL,
  WRITE_PUNT,
  WRITE_RING,
  writeRoute,
  type Route
} from './route.js'
import { hasOp } from './routes.js'
import { toStats } from './stats.js'
import * as streams from './streams.js'
import { IOV_MAX } from '../errno.js'
import { READ_POSITION_CHECKED_FIRST, STAT_OPTIONS_OBJECT, WRITE_FILE_MODE_FIRST } from '../node-facts.js'

export type * from './handle-types.js'

/** Chunks of a larger positional read in flight at once. */
const CHUNK_LANES = 4

/** A native call on this handle's file: `kind` and `file` name it (see file-ref.ts). */
type FileStart = (b: NativeBinding, kind: number, file: number, token: number) => number

/** What Node's FileHandle rejects with once closed: `code: 'EBADF'`, message `'file closed'`. */
function ebadf(syscall: string): Error {
  return Object.assign(new Error('file closed'), { code: 'EBADF', syscall })
}

/** What Node's FileHandle methods reject with when called on something else (`fh.stat.call({})`). */
function notAHandle(): Error {
  return codedError(
    Error,
    'ERR_INTERNAL_ASSERTION',
    'handle must be an instance of FileHandle\nThis is caused by either a bug in Node.js or incorrect usage of Node.js internals.\nPlease open an issue with this stack trace at https://github.com/nodejs/node/issues\n'
  )
}

function validateBufferArray(buffers: unknown): asserts buffers is readonly NodeJS.ArrayBufferView[] {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b))) {
    throw invalidArgType('buffers', 'an ArrayBufferView[]', buffers)
  }
}

/**
 * Handles collected without `close()`: like Node, their file is closed then, with Node's two
 * warnings (the second a `DEP0137` deprecation). Holds the file, never the handle.
 */
let warnedDep0137 = false
const unclosed = new FinalizationRegistry<FileRef>((file) => {
  const n = fileNumber(file)
  process.emitWarning(`Closing file descriptor ${n} on garbage collection`)
  // Node warns DEP0137 once per thread (env->filehandle_close_warning()), the first line per handle.
  if (!warnedDep0137) {
    warnedDep0137 = true
    process.emitWarning(
      'Closing a FileHandle object on garbage collection is deprecated. Please close FileHandle objects explicitly using FileHandle.prototype.close(). In the future, an error will be thrown if a file descriptor is closed during garbage collection.',
      'DeprecationWarning',
      'DEP0137'
    )
  }
  try {
    submit(
      (b, t) => b.close(file.kind, n, t),
      () => undefined
    ).catch(() => undefined)
  } catch {
    // The runtime of this thread is gone (worker exit): so is its file table.
  }
})

/**
 * An open file. Every operation goes through this thread's io_uring. Like Node's, `close()`
 * waits for operations in flight on the handle, and operations after close reject with EBADF.
 */
export class FileHandle extends EventEmitter {
  /** The file; `undefined` once closed. */
  #file: FileRef | undefined
  readonly #fixed: boolean
  #pending = 0
  #closing: Promise<void> | undefined
  #drained: (() => void) | undefined
  /** Where a descriptor's reads go (learned on the first read, see route.ts). */
  #route: Route | undefined

  /** @internal */
  constructor(file: FileRef) {
    super()
    this.#file = file
    this.#fixed = file.kind === FILE_KIND_FIXED
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

  /** An op of the handle is over (see `#op`); the last one lets a waiting `close()` go on. */
  readonly #settleOne = (): void => {
    if (--this.#pending === 0 && this.#drained !== undefined) this.#drained()
  }

  /**
   * One ring op on this handle's file, counted so that `close()` waits for it. Rejects with
   * Node's error for `syscall` when the result is `-errno`.
   */
  #op<T>(syscall: string, start: FileStart, map: (result: number) => T, signal?: AbortSignal | null): Promise<T> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf(syscall))
    const kind = file.kind
    const n = fileNumber(file)
    this.#pending++
    return submit(
      (b, t) => start(b, kind, n, t),
      (result) => {
        if (result < 0) throw systemError(result, syscall)
        return map(result)
      },
      signal,
      this.#settleOne
    )
  }

  /**
   * A read or write through the shared submission queue (no native call): at most `FAST_MAX`
   * bytes, or any length of a `BufferPool` buffer (`pool`). `undefined` when it cannot go
   * that way now (closed, inside a task, every arena slot taken).
   */
  #queued(
    write: boolean,
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    pool: { readonly id: number; readonly index: number } | undefined
  ): Promise<number> | undefined {
    const file = this.#open()
    if (file === undefined || currentTask() !== undefined) return undefined
    ring()
    let resolve!: (n: number) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<number>((res, rej) => {
      resolve = res
      reject = rej
    })
    const waiter = (n: number): void => {
      this.#settleOne()
      if (n < 0) reject(systemError(n, write ? 'write' : 'read'))
      else resolve(n)
    }
    if (pool !== undefined) {
      queuePool(write, file, pool.id, pool.index, buf.byteOffset + off, len, pos, waiter)
    } else if (!(write ? queueWrite : queueRead)(file, buf, off, len, pos, waiter)) return undefined
    this.#pending++
    return promise
  }

  /** The read route of a descriptor (a slot has none: its reads always go through the ring). */
  #routeOf(file: FileRef): Route | undefined {
    if (file.kind !== FILE_KIND_FD) return undefined
    this.#route ??= learnRoute(file.fd)
    return this.#route
  }

  /**
   * Every read of the handle picks its path here. `owned`: `buf` is an owned buffer (see
   * `ownedBuffer`), which the kernel fills in place.
   */
  #read(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned = false
  ): Promise<number> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf('read'))
    // A BufferPool buffer: the kernel reads into it in place (READ_FIXED when registered).
    const pool = poolSlotOf(buf)
    if (pool !== undefined) return this.#poolIo(false, buf, pool, off, len, pos, signal)
    const route = this.#routeOf(file)
    if (route !== undefined && route.kind !== RING) {
      // tmpfs/procfs/FUSE: node:fs serves the read (see route.ts); a cancelled task's too
      // starts nothing more.
      const aborted = taskAborted()
      if (aborted !== undefined) return Promise.reject(aborted)
      this.#pending++
      const settle = (): void => this.#settleOne()
      const p = routedRead(route.kind, file.kind === FILE_KIND_FD ? file.fd : -1, buf, off, len, pos, signal)
      p.then(settle, settle)
      return p
    }
    const oDirect = route?.oDirect === true
    // Natively owned memory (`alignedBuffer`) is read into in place: the op holds the
    // allocation, so a detach cannot free it under the kernel. Asked only for reads too big for
    // the shared queue, where a bounce copy costs more than the question.
    if (owned || ((oDirect || len > FAST_MAX) && ring().isOwned(buf))) {
      // Natively owned memory: the kernel reads straight into it.
      const p = this.#op('read', (b, k, f, t) => b.readOwned(k, f, buf as Buffer, off, len, pos, t), id, signal)
      return oDirect ? p.catch((e: unknown) => Promise.reject(oDirectError(e, route!))) : p
    }
    if (oDirect) return Promise.reject(oDirectError(systemError(-22, 'read'), route!))
    if (signal == null && len <= FAST_MAX) {
      const p = this.#queued(false, buf, off, len, pos, undefined)
      if (p !== undefined) return p
    }
    if (len > BOUNCE_MAX && pos >= 0) return this.#chunkedRead(buf, off, len, pos, signal)
    return this.#op('read', (b, k, f, t) => b.read(k, f, buf, off, len, pos, t), id, signal)
  }

  /**
   * A read into (or write from) a `BufferPool` buffer: the kernel uses the pool memory in place
   * (`READ_FIXED`/`WRITE_FIXED` when registered), through the shared queue when nothing needs
   * the op's key, a native call otherwise.
   */
  #poolIo(
    write: boolean,
    buf: NodeJS.ArrayBufferView,
    pool: PoolSlot,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null
  ): Promise<number> {
    if (signal == null) {
      const p = this.#queued(write, buf, off, len, pos, pool)
      if (p !== undefined) return p
    }
    const start = buf.byteOffset + off
    return this.#op(
      write ? 'write' : 'read',
      (b, k, f, t) => b.poolIo(write, k, f, pool.native, pool.index, start, len, pos, t),
      id,
      signal
    )
  }

  /** Every write of the handle picks its path here. */
  #write(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null
  ): Promise<number> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf('write'))
    const pool = poolSlotOf(buf)
    if (pool !== undefined) return this.#poolIo(true, buf, pool, off, len, pos, signal)
    const route = this.#routeOf(file)
    if (signal == null && len <= FAST_MAX && route?.oDirect !== true) {
      const p = this.#queued(true, buf, off, len, pos, undefined)
      if (p !== undefined) return p
    }
    const how = route === undefined ? WRITE_RING : writeRoute(route)
    if (how === WRITE_POOL && file.kind === FILE_KIND_FD) {
      const aborted = taskAborted()
      if (aborted !== undefined) return Promise.reject(aborted)
      this.#pending++
      const settle = (): void => this.#settleOne()
      const p = pooledWrite(file.fd, buf, off, len, pos, signal)
      p.then(settle, settle)
      return p
    }
    const punt = how === WRITE_PUNT
    const p = this.#op('write', (b, k, f, t) => b.write(k, f, buf, off, len, pos, t, punt), id, signal)
    return route?.oDirect ? p.catch((e: unknown) => Promise.reject(oDirectError(e, route))) : p
  }

  /**
   * A positional read of more than `BOUNCE_MAX` bytes into the caller's memory, as reads of at
   * most `BOUNCE_MAX` at consecutive positions, `CHUNK_LANES` in flight: each goes through a
   * recycled bounce buffer (the runtime keeps those up to 1 MiB; a larger one would be a
   * fresh allocation, page faults included, on every read). Positional reads only happen on
   * seekable files, where one read returns short only at the end of the file: the result is
   * the bytes up to the first short chunk, as one read would return.
   */
  async #chunkedRead(
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal: AbortSignal | null | undefined
  ): Promise<number> {
    const chunks = Math.ceil(len / BOUNCE_MAX)
    const got = new Array<number>(chunks).fill(-1)
    let next = 0
    let short = false
    const lane = async (): Promise<void> => {
      while (next < chunks && !short) {
        const k = next++
        const at = k * BOUNCE_MAX
        const n = Math.min(BOUNCE_MAX, len - at)
        got[k] = await this.#op('read', (b, kd, f, t) => b.read(kd, f, buf, off + at, n, pos + at, t), id, signal)
        if (got[k]! < n) short = true
      }
    }
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(CHUNK_LANES, chunks) }, lane))
    const failed = lanes.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    let total = 0
    for (let k = 0; k < chunks; k++) {
      total += got[k]!
      if (got[k]! < Math.min(BOUNCE_MAX, len - k * BOUNCE_MAX)) break
    }
    return total
  }

  /**
   * Runs `use` with a descriptor for this handle's file, for calls io_uring has no opcode for
   * (`fchmod`, `fchown`, `futimens`, `fstat` with bigints) and for `statx`, which cannot take a
   * registered-file slot. A descriptor handle uses its own; a direct handle gets one installed
   * for the call (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8), closed after it. Counted like a ring
   * op, so `close()` waits for it.
   */
  #withDescriptor<T>(syscall: string, use: (fd: number) => Promise<T>): Promise<T> {
    const file = this.#open()
    if (file === undefined) return Promise.reject(ebadf(syscall))
    // Like a ring op: a cancelled task starts nothing more.
    const aborted = taskAborted()
    if (aborted !== undefined) return Promise.reject(aborted)
    this.#pending++
    const settle = (): void => this.#settleOne()
    let p: Promise<T>
    if (file.kind === FILE_KIND_FD) {
      p = use(file.fd)
    } else if (!hasOp('fixed_fd_install')) {
      p = Promise.reject(
        codedError(
          Error,
          codes.UNSUPPORTED_OP,
          `${syscall} on a direct descriptor needs a descriptor for the file, which needs io_uring fixed_fd_install (Linux 6.8; running ${ring().ringInfo().kernel}); open the file without { direct: true }`
        )
      )
    } else {
      const slot = file.slot
      p = submit(
        (b, t) => b.installFd(slot, t),
        (fd) => {
          if (fd < 0) throw systemError(fd, syscall)
          return fd
        }
      ).then((fd) =>
        use(fd).finally(() =>
          submit(
            (b, t) => b.close(FILE_KIND_FD, fd, t),
            () => undefined,
            undefined,
            undefined,
            { detached: true }
          )
        )
      )
    }
    p.then(settle, settle)
    return p
  }

  /** A `node:fs` callback call on a descriptor of this file (see `#withDescriptor`). */
  #nodeFs<T>(syscall: string, call: (fd: number, cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
    return this.#withDescriptor(
      syscall,
      (fd) => new Promise<T>((resolve, reject) => call(fd, (err, value) => (err ? reject(err) : resolve(value as T))))
    )
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
      if (len === 0) return Promise.resolve({ bytesRead: 0, buffer: view })
      if (view.byteLength === 0) throw invalidArgValue('buffer', view, 'is empty and cannot be written')
      validateReadRange(off, len, view.byteLength)
      const n = len as number
      const pos = early ?? validatePosition(given, n)
      // `signal` is boros' own option: Node ignores what it does not know, so a value that is
      // not an AbortSignal is ignored too.
      if (!(signal instanceof AbortSignal)) signal = undefined
      const read =
        typeof pos === 'bigint'
          ? this.#farRead(view, off as number, n, pos)
          : this.#read(view, off as number, n, pos, signal)
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
          return Promise.resolve({ bytesWritten: 0, buffer: data })
        }
        if (!ArrayBuffer.isView(data)) {
          throw invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data)
        }
        buf = data
        if (typeof offset === 'object') {
          // write(buffer, options): `null` too (then every field is its default).
          const o = offset ?? {}
          off = o.offset === undefined ? 0 : o.offset
          len = o.length === undefined || typeof o.length !== 'number' ? buf.byteLength - off : o.length
          if (off == null) off = 0
          validateWriteRange(off, len, buf.byteLength)
          pos = writePosition(o.position)
        } else {
          off = offset ?? 0
          // Node: a length that is not a number is the rest of the buffer.
          len = typeof length === 'number' ? length : buf.byteLength - off
          validateWriteRange(off, len, buf.byteLength)
          pos = writePosition(position)
        }
      }
      const written = this.#write(buf, off, len, pos)
      return written.then((n) => ({ bytesWritten: n, buffer: data }))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /**
   * A read at a position past 2^53 - 1, which no double (and so no shared-queue entry or native
   * argument) can carry exactly: served by `node:fs`, which takes bigint read positions, on a
   * descriptor of the file (the kernel then answers EFBIG/EOVERFLOW, or 0 at the end).
   */
  #farRead(buf: NodeJS.ArrayBufferView, off: number, len: number, pos: bigint): Promise<number> {
    return this.#nodeFs<number>('read', (fd, cb) => nodeFs.read(fd, buf, off, len, pos, cb))
  }

  /** `fstat` through statx; `{ bigint: true }`: `node:fs` `fstat`, which builds Node's `BigIntStats`. */
  stat(options?: StatOptions & { readonly bigint?: false }): Promise<Stats>
  stat(options: StatOptions & { readonly bigint: true }): Promise<BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (
      STAT_OPTIONS_OBJECT &&
      options !== undefined &&
      (options === null || typeof options !== 'object' || Array.isArray(options))
    ) {
      return Promise.reject(invalidArgType('options', 'of type object', options))
    }
    if (STAT_OPTIONS_OBJECT && options !== undefined) {
      // Node 26: `options.signal` is checked (type, then aborted) before the fstat.
      const signal = (options as { signal?: unknown }).signal
      if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
        return Promise.reject(invalidArgType('options.signal', 'an instance of AbortSignal', signal))
      }
      try {
        throwIfAborted(signal as AbortSignal | undefined)
      } catch (e) {
        return Promise.reject(e)
      }
    }
    // Node 20-24: `options = { bigint: false }` (so `null` fails reading `.bigint`, as there), and
    // `options.bigint` goes to C++, which takes only `true` (IsTrue) for bigints.
    let bigint: unknown
    try {
      bigint = options === undefined ? false : (options as StatOptions).bigint
    } catch (e) {
      return Promise.reject(e)
    }
    if (bigint === true) {
      return this.#nodeFs<BigIntStats>('fstat', (fd, cb) => nodeFs.fstat(fd, { bigint: true }, cb))
    }
    const file = this.#open()
    if (file?.kind === FILE_KIND_FD) {
      const out = new Float64Array(STAT_FIELDS)
      const fd = file.fd
      return this.#op(
        'fstat',
        (b, _k, _f, t) => b.statx(null, fd, true, out, t),
        () => toStats(out)
      )
    }
    return this.#withDescriptor('fstat', (fd) => {
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
    return this.#op('fsync', (b, k, f, t) => b.fsync(k, f, false, t), none)
  }

  /** `fdatasync(2)`. */
  datasync(): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    return this.#op('fdatasync', (b, k, f, t) => b.fsync(k, f, true, t), none)
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
    if (buffers.length === 0) throw systemError(-22, 'read')
    let bytesRead = 0
    for (const b of buffers) {
      if (b.byteLength === 0) continue
      const len = Math.min(b.byteLength, MAX_RW)
      const n = await this.#read(b, 0, len, pos)
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
      const n = await this.#op('write', (b, k, f, t) => b.writev(k, f, chunk, at, t), id)
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
    if (hasOp('ftruncate')) return this.#op('ftruncate', (b, k, f, t) => b.ftruncate(k, f, size, t), none)
    return this.#nodeFs('ftruncate', (fd, cb) => nodeFs.ftruncate(fd, size, cb))
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
    return this.#nodeFs('fchmod', (fd, cb) => nodeFs.fchmod(fd, m, cb))
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
    return this.#nodeFs('fchown', (fd, cb) => nodeFs.fchown(fd, uid, gid, cb))
  }

  /** `futimens(2)` (through node:fs: io_uring has no opcode for it). Times as in Node. */
  utimes(atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    if (!FileHandle.#is(this)) return Promise.reject(notAHandle())
    if (this.#open() === undefined) return Promise.reject(ebadf('futimes'))
    return this.#nodeFs('futimes', (fd, cb) => nodeFs.futimes(fd, atime, mtime, cb))
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
    return file !== undefined && this.#routeOf(file)?.oDirect === true
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
    return this.#read(buf, off, len, pos, signal, owned)
  }

  /**
   * @internal The file's size now, for readFile's check after its reads (see `readAll`): a
   * descriptor on a local filesystem by a synchronous `fstat` (it never waits), anything else
   * through `stat()`; `undefined` where it cannot be known (closed, no `fixed_fd_install`).
   */
  _sizeNow(): Promise<number | undefined> | number | undefined {
    const file = this.#open()
    if (file === undefined) return undefined
    if (file.kind === FILE_KIND_FD && this.#routeOf(file)?.kind !== THREADPOOL) {
      try {
        const st = nodeFs.fstatSync(file.fd)
        return st.isFile() ? st.size : undefined
      } catch {
        return undefined
      }
    }
    return this.stat().then(
      (st) => (st.isFile() ? st.size : undefined),
      () => undefined
    )
  }

  /**
   * @internal Runs `use` with a way to read the file's size now (a regular file's; `undefined`
   * otherwise or where it cannot be known), on one descriptor for the whole call: the handle's
   * own, or for a direct handle one installed once (`fixed_fd_install`) and closed after, so
   * that readFile's size before and after its reads costs two ring ops, not two `statx`es on
   * io-wq. The size comes from a synchronous `fstat` on local filesystems, from the threadpool
   * on procfs/sysfs/FUSE (route.ts).
   */
  _withSizes<T>(use: (sizeNow: () => Promise<number | undefined> | number | undefined) => Promise<T>): Promise<T> {
    const none = (): undefined => undefined
    let started = false
    return this.#withDescriptor('fstat', (fd) => {
      started = true
      return use(sizeOf(fd))
    }).catch((e: unknown) => {
      // No descriptor to be had (no fixed_fd_install before 6.8, a full descriptor table):
      // the sizes are unknown, and the caller reads until EOF. Errors of `use` are its own.
      if (started) throw e
      return use(none)
    })
  }

  /** @internal Raw write used by writeFile and streams: resolves with bytes written. */
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal | null): Promise<number> {
    return this.#write(buf, off, len, pos, signal)
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
    const drained = this.#pending === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#drained = r))
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

/**
 * The position of `readv`/`writev` as Node takes it (seen on Node 20 and 24): a safe integer
 * >= 0 is a position; anything else (not a number, 1.5, NaN, -2, 2^53) is the current
 * position. Never an error.
 */
function vectorPosition(position: unknown): number {
  return typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : -1
}

/** The size of a regular file open on `fd`, read as `_withSizes` says. */
function sizeOf(fd: number): () => Promise<number | undefined> | number | undefined {
  const regular = (st: { isFile(): boolean; size: number }): number | undefined => (st.isFile() ? st.size : undefined)
  if (learnRoute(fd).kind === THREADPOOL) {
    return () => new Promise((resolve) => nodeFs.fstat(fd, (err, st) => resolve(err ? undefined : regular(st))))
  }
  return () => {
    try {
      return regular(nodeFs.fstatSync(fd))
    } catch {
      return undefined
    }
  }
}

function id(n: number): number {
  return n
}

function none(): void {}
