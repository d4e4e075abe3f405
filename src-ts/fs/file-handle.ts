/**
 * `FileHandle`: an open file, mirroring `node:fs/promises`' FileHandle.
 * @module
 */
import { EventEmitter } from 'node:events'
import * as nodeFs from 'node:fs'
import type { BigIntStats, Stats } from 'node:fs'
import {
  dropToken,
  FAST_MAX,
  queuePool,
  queueRead,
  queueWrite,
  ring,
  submit,
  takeToken,
  type Start
} from '../binding.js'
import { currentTask } from '../task-context.js'
import { invalidArgType, systemError } from '../errors.js'
import {
  validateBuffer,
  validateInteger,
  validateOffsetLength,
  validatePosition,
  validateSignal,
  MAX_RW
} from '../validate.js'
import { parseMode } from './flags.js'
import { hasOp } from './routes.js'
import { STAT_FIELDS, toStats } from './stats.js'
import { readAll, writeAll, toBytes, type WriteData, type Encoding } from './io.js'
import { directError, learnRoute, RING, routedRead, type Route } from './route.js'
import * as streams from './streams.js'
import { poolSlotOf, type PoolSlot } from '../buffer-pool.js'

/** Options of `read`. */
export interface ReadOptions<T extends NodeJS.ArrayBufferView = Buffer> {
  /** Where to read into (default: a new 16 KiB Buffer). */
  readonly buffer?: T
  /** Where in `buffer` to start writing (default 0). */
  readonly offset?: number
  /** How many bytes to read (default: the rest of `buffer`). */
  readonly length?: number
  /** Where in the file to read; `null` or omitted: the current position, which advances. */
  readonly position?: number | bigint | null
  /** Cancels the read in the kernel. */
  readonly signal?: AbortSignal
}

/** Result of `read`. */
export interface ReadResult<T extends NodeJS.ArrayBufferView> {
  readonly bytesRead: number
  readonly buffer: T
}

/** Result of `write`. */
export interface WriteResult<T> {
  readonly bytesWritten: number
  readonly buffer: T
}

/**
 * Options of `readFile` on a handle.
 * @inline
 */
export interface ReadFileOptions {
  /** Decode the contents with this encoding and resolve with a string. */
  readonly encoding?: Encoding | null
  /** Cancels the read in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
}

/**
 * Options of `writeFile`/`appendFile` on a handle.
 * @inline
 */
export interface WriteFileOptions {
  /** Encoding of string data (default `'utf8'`). */
  readonly encoding?: Encoding | null
  /** Cancels the write in the kernel; the promise rejects with `AbortError`. */
  readonly signal?: AbortSignal
}

/** Options of `stat`. */
/** Largest read the runtime bounces through a recycled buffer (`BouncePool` in ops.rs). */
const BOUNCE_MAX = 1024 * 1024
/** Chunks of a larger positional read in flight at once. */
const CHUNK_LANES = 4

export interface StatOptions {
  /** Stats with `bigint` fields (Node's `BigIntStats`), served by `node:fs` (see `runtime().paths`). */
  readonly bigint?: boolean
}

/** What Node's FileHandle rejects with once closed: `code: 'EBADF'`, message `'file closed'`. */
function ebadf(syscall: string): Error {
  return Object.assign(new Error('file closed'), { code: 'EBADF', syscall })
}

/** Result of `readv`. */
export interface ReadVResult<T extends readonly NodeJS.ArrayBufferView[]> {
  /** Bytes read, over all buffers (0 at end of file). */
  readonly bytesRead: number
  /** The buffers given, filled in order. */
  readonly buffers: T
}

/** Result of `writev`. */
export interface WriteVResult<T extends readonly NodeJS.ArrayBufferView[]> {
  /** Bytes written, over all buffers (may be short, as with Node's). */
  readonly bytesWritten: number
  /** The buffers given. */
  readonly buffers: T
}

/** Most buffers one `writev` takes (the kernel's `IOV_MAX`); longer lists go in several. */
const IOV_MAX = 1024

function validateBufferArray(buffers: unknown): asserts buffers is readonly NodeJS.ArrayBufferView[] {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b))) {
    throw invalidArgType('buffers', 'an ArrayBufferView[]', buffers)
  }
}

/** What a queued read or write resolves with. */
const Shape = {
  /** `{ bytesRead, buffer }` */
  Read: 0,
  /** `{ bytesWritten, buffer }` */
  Written: 1,
  /** The byte count. */
  Count: 2
} as const
type Shape = (typeof Shape)[keyof typeof Shape]

/**
 * An open file. Every operation goes through this thread's io_uring. Like Node's, `close()`
 * waits for operations in flight on the handle, and operations after close reject with EBADF.
 */
export class FileHandle extends EventEmitter {
  #fd: number
  /** A direct descriptor: `#fd` is the slot in the ring's file table (see docs/buffers.md). */
  readonly #direct: boolean
  #pending = 0
  #closing: Promise<void> | undefined
  #drained: (() => void) | undefined
  /** Where reads go (learned on the first read, see route.ts). */
  #route: Route | undefined

  /** @internal */
  constructor(fd: number, direct = false) {
    super()
    this.#fd = fd
    this.#direct = direct
  }

  /**
   * The descriptor, or -1 once closed. A direct handle (`open(path, { direct: true })`) has no
   * descriptor in the process's file table: its `fd` is -1, so that code passing it to
   * `node:fs` fails with EBADF instead of reaching an unrelated file.
   */
  get fd(): number {
    return this.#direct ? -1 : this.#fd
  }

  /** Whether this handle is a direct descriptor (a slot of the ring's registered file table). */
  get direct(): boolean {
    return this.#direct
  }

  /** The op target: the descriptor, or `-2 - slot` for a direct descriptor. */
  get #file(): number {
    return this.#direct ? -2 - this.#fd : this.#fd
  }

  /**
   * Reads and writes that take another path than the plain one: a pool buffer (READ_FIXED /
   * WRITE_FIXED straight into it) or a direct handle (IOSQE_FIXED_FILE). `undefined`: plain path.
   */
  #special(
    kind: 'read' | 'write',
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    slot: PoolSlot | undefined = poolSlotOf(buf)
  ): Promise<number> | undefined {
    if (slot === undefined && !this.#direct) return undefined
    const file = this.#file
    if (slot !== undefined) {
      const { native, index } = slot
      const start = buf.byteOffset + off
      const write = kind === 'write'
      return this.#op(
        kind,
        (b, t) => b.poolIo(write, file, native, index, start, len, pos, t),
        (n) => n,
        signal
      )
    }
    return this.#op(
      kind,
      kind === 'read' ? (b, t) => b.read(file, buf, off, len, pos, t) : (b, t) => b.write(file, buf, off, len, pos, t),
      (n) => n,
      signal
    )
  }

  #settleOne(): void {
    if (--this.#pending === 0 && this.#drained !== undefined) this.#drained()
  }

  #op<T>(syscall: string, start: Start, map: (result: number) => T, signal?: AbortSignal | null): Promise<T> {
    if (this.#fd < 0 || this.#closing !== undefined) return Promise.reject(ebadf(syscall))
    if (signal == null && currentTask() === undefined) {
      // The hot path: one promise, one waiter, nothing to cancel.
      const binding = ring()
      this.#pending++
      return new Promise<T>((resolve, reject) => {
        const token = takeToken((result) => {
          this.#settleOne()
          if (result < 0) reject(systemError(result, syscall))
          else resolve(map(result))
        })
        try {
          start(binding, token)
        } catch (e) {
          dropToken(token)
          this.#settleOne()
          reject(e)
        }
      })
    }
    this.#pending++
    let counted = true
    const done = (): void => {
      if (!counted) return
      counted = false
      this.#settleOne()
    }
    return submit(
      (b, t) => {
        try {
          return start(b, t)
        } catch (e) {
          done()
          throw e
        }
      },
      (result) => {
        done()
        if (result < 0) throw systemError(result, syscall)
        return map(result)
      },
      signal
    ).catch((e: unknown) => {
      // A cancelled op rejects without reaching `map`: count it as done here.
      done()
      throw e
    })
  }

  #isClosed(): boolean {
    return this.#fd < 0 || this.#closing !== undefined
  }

  /**
   * Runs a `node:fs` call on this handle's descriptor (for calls io_uring has no opcode for),
   * counted like a ring op so that `close()` waits for it.
   */
  #external<T>(syscall: string, call: (fd: number, cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
    if (this.#fd < 0 || this.#closing !== undefined) return Promise.reject(ebadf(syscall))
    this.#pending++
    return new Promise<T>((resolve, reject) => {
      try {
        call(this.#fd, (err, value) => {
          this.#settleOne()
          if (err) reject(err)
          else resolve(value as T)
        })
      } catch (e) {
        this.#settleOne()
        reject(e)
      }
    })
  }

  /**
   * The hot path of reads and writes: no signal, no task, and at most `FAST_MAX` bytes or a
   * `BufferPool` buffer (`pool`, any length). The op goes through the shared submission queue
   * (no native call); `undefined` when it cannot (the handle is closed or closing, a task is
   * running, or every arena slot is taken).
   */
  #queued(
    write: boolean,
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    shape: Shape,
    result: unknown,
    pool?: PoolSlot
  ): Promise<unknown> | undefined {
    if (this.#fd < 0 || this.#closing !== undefined || currentTask() !== undefined) return undefined
    ring()
    let resolve!: (v: unknown) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res
      reject = rej
    })
    const waiter = (n: number): void => {
      this.#settleOne()
      if (n < 0) reject(systemError(n, write ? 'write' : 'read'))
      else if (shape === Shape.Read) resolve({ bytesRead: n, buffer: result })
      else if (shape === Shape.Written) resolve({ bytesWritten: n, buffer: result })
      else resolve(n)
    }
    // #file: a direct handle's ops name its slot (-2 - slot); the queue takes both kinds.
    if (pool !== undefined) {
      // A BufferPool buffer: the kernel reads or writes it in place (READ_FIXED/WRITE_FIXED).
      queuePool(write, this.#file, pool.id, pool.index, buf.byteOffset + off, len, pos, waiter)
    } else if (!(write ? queueWrite : queueRead)(this.#file, buf, off, len, pos, waiter)) return undefined
    this.#pending++
    return promise
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
    let opts: ReadOptions<T> | undefined
    if (buffer === undefined || (!ArrayBuffer.isView(buffer) && typeof buffer === 'object')) {
      opts = buffer as ReadOptions<T> | undefined
      buffer = (opts?.buffer ?? Buffer.alloc(16384)) as T
    } else if (offset !== null && typeof offset === 'object') {
      opts = offset
      offset = undefined
    }
    const buf = buffer as T
    try {
      validateBuffer(buf)
      const off = (offset as number | null | undefined) ?? opts?.offset ?? 0
      const len = length ?? opts?.length ?? buf.byteLength - off
      validateOffsetLength(off, Math.min(len, MAX_RW), buf.byteLength)
      const pos = validatePosition(position !== undefined ? position : opts?.position)
      validateSignal(opts?.signal)
      const fd = this.#fd
      if (len === 0) return Promise.resolve({ bytesRead: 0, buffer: buf })
      const pool = poolSlotOf(buf)
      if (opts?.signal == null && (pool !== undefined || (this.#direct && len <= FAST_MAX))) {
        const p = this.#queued(false, buf, off, len, pos, Shape.Read, buf, pool)
        if (p !== undefined) return p as Promise<ReadResult<T>>
      }
      const special = this.#special('read', buf, off, len, pos, opts?.signal, pool)
      if (special !== undefined) return special.then((n) => ({ bytesRead: n, buffer: buf }))
      const route = this.#route ?? this.#learnRoute()
      if (route !== undefined && (route.kind !== RING || route.direct)) {
        return this.#routedRead(route, buf, off, len, pos, opts?.signal, false).then((n) => ({
          bytesRead: n,
          buffer: buf
        }))
      }
      if (opts?.signal == null && len <= FAST_MAX) {
        const p = this.#queued(false, buf, off, len, pos, Shape.Read, buf)
        if (p !== undefined) return p as Promise<ReadResult<T>>
      }
      if (len > BOUNCE_MAX && pos >= 0) {
        return this.#chunkedRead(buf, off, len, pos, opts?.signal).then((n) => ({ bytesRead: n, buffer: buf }))
      }
      return this.#op(
        'read',
        (b, t) => b.read(fd, buf, off, len, pos, t),
        (n) => ({ bytesRead: n, buffer: buf }),
        opts?.signal
      )
    } catch (e) {
      return Promise.reject(e)
    }
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
    const fd = this.#fd
    const chunks = Math.ceil(len / BOUNCE_MAX)
    const got = new Array<number>(chunks).fill(-1)
    let next = 0
    let short = false
    const lane = async (): Promise<void> => {
      while (next < chunks && !short) {
        const k = next++
        const at = k * BOUNCE_MAX
        const n = Math.min(BOUNCE_MAX, len - at)
        got[k] = await this.#op(
          'read',
          (b, t) => b.read(fd, buf, off + at, n, pos + at, t),
          (r) => r,
          signal
        )
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
   * Writes to the file: `write(buffer, offset?, length?, position?)`, `write(buffer, options?)`,
   * or `write(string, position?, encoding?)`. One write: may be short, like Node's.
   */
  write<T extends NodeJS.ArrayBufferView | string>(
    data: T,
    offset?: number | null | { offset?: number; length?: number; position?: number | bigint | null },
    length?: number | Encoding | null,
    position?: number | bigint | null
  ): Promise<WriteResult<T>> {
    try {
      let buf: NodeJS.ArrayBufferView
      let off = 0
      let len: number
      let pos: number
      if (typeof data === 'string') {
        buf = Buffer.from(data, (typeof length === 'string' ? length : 'utf8') as BufferEncoding)
        len = buf.byteLength
        pos = validatePosition(offset as number | null | undefined)
      } else {
        validateBuffer(data)
        buf = data
        if (offset !== null && typeof offset === 'object') {
          off = offset.offset ?? 0
          len = offset.length ?? buf.byteLength - off
          pos = validatePosition(offset.position)
        } else {
          off = offset ?? 0
          len = (length as number | null | undefined) ?? buf.byteLength - off
          pos = validatePosition(position)
        }
        validateOffsetLength(off, Math.min(len, MAX_RW), buf.byteLength)
      }
      const fd = this.#fd
      const pool = poolSlotOf(buf)
      if (pool !== undefined || (this.#direct && len <= FAST_MAX)) {
        const p = this.#queued(true, buf, off, len, pos, Shape.Written, data, pool)
        if (p !== undefined) return p as Promise<WriteResult<T>>
      }
      const special = this.#special('write', buf, off, len, pos, undefined, pool)
      if (special !== undefined) return special.then((n) => ({ bytesWritten: n, buffer: data }))
      if (len <= FAST_MAX && !this.#route?.direct) {
        const p = this.#queued(true, buf, off, len, pos, Shape.Written, data)
        if (p !== undefined) return p as Promise<WriteResult<T>>
      }
      const p = this.#op(
        'write',
        (b, t) => b.write(fd, buf, off, len, pos, t),
        (n) => ({ bytesWritten: n, buffer: data })
      )
      return this.#route?.direct ? p.catch((e: unknown) => Promise.reject(directError(e, this.#route!))) : p
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** `fstat` through statx; `{ bigint: true }`: `node:fs` `fstat`, which builds Node's `BigIntStats`. */
  stat(options?: StatOptions & { readonly bigint?: false }): Promise<Stats>
  stat(options: StatOptions & { readonly bigint: true }): Promise<BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats>
  stat(options?: StatOptions): Promise<Stats | BigIntStats> {
    if (options?.bigint) return this.#statBigInt()
    if (this.#direct) return this.#statDirect()
    const out = new Float64Array(STAT_FIELDS)
    const fd = this.#fd
    return this.#op(
      'fstat',
      (b, t) => b.statx(null, fd, true, out, t),
      () => toStats(out)
    )
  }

  /** `fstat` with bigint fields, by `node:fs` on this handle's descriptor. */
  #statBigInt(): Promise<BigIntStats> {
    const fstat = (fd: number, cb: (err: Error | null, st?: BigIntStats) => void): void =>
      nodeFs.fstat(fd, { bigint: true }, cb)
    if (!this.#direct) return this.#external('fstat', fstat)
    return this.#withInstalledFd(
      (fd) => new Promise((resolve, reject) => fstat(fd, (e, st) => (e ? reject(e) : resolve(st!))))
    )
  }

  /** statx needs a descriptor in the process's table: see `#withInstalledFd`. */
  #statDirect(): Promise<Stats> {
    return this.#withInstalledFd(async (fd) => {
      const out = new Float64Array(STAT_FIELDS)
      await submit(
        (b, t) => b.statx(null, fd, true, out, t),
        (result) => {
          if (result < 0) throw systemError(result, 'fstat')
        }
      )
      return toStats(out)
    })
  }

  /**
   * Runs `use` with a plain descriptor for this direct handle's file: installs one
   * (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8), then closes it.
   */
  async #withInstalledFd<T>(use: (fd: number) => Promise<T>): Promise<T> {
    const slot = this.#fd
    const fd = await this.#op(
      'fstat',
      (b, t) => b.installFd(slot, t),
      (n) => n
    )
    try {
      return await use(fd)
    } finally {
      await submit(
        (b, t) => b.close(fd, t),
        () => undefined
      )
    }
  }

  /** `fsync(2)`. */
  sync(): Promise<void> {
    const fd = this.#file
    return this.#op(
      'fsync',
      (b, t) => b.fsync(fd, false, t),
      () => undefined
    )
  }

  /** `fdatasync(2)`. */
  datasync(): Promise<void> {
    const fd = this.#file
    return this.#op(
      'fdatasync',
      (b, t) => b.fsync(fd, true, t),
      () => undefined
    )
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
    if (this.#isClosed()) throw ebadf('readv')
    validateBufferArray(buffers)
    let pos = typeof position === 'number' ? validatePosition(position) : -1
    // preadv(2) with no buffers fails with EINVAL, and Node reports that.
    if (buffers.length === 0) throw systemError(-22, 'read')
    let bytesRead = 0
    for (const b of buffers) {
      const view = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
      if (view.byteLength === 0) continue
      const n = await this._readInto(view, 0, Math.min(view.byteLength, MAX_RW), pos)
      bytesRead += n
      if (pos >= 0) pos += n
      if (n < view.byteLength) break
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
    if (this.#isClosed()) throw ebadf('writev')
    validateBufferArray(buffers)
    let pos = typeof position === 'number' ? validatePosition(position) : -1
    if (buffers.length === 0) return { bytesWritten: 0, buffers }
    const fd = this.#fd
    let bytesWritten = 0
    for (let i = 0; i < buffers.length; i += IOV_MAX) {
      const chunk = buffers.slice(i, i + IOV_MAX)
      const want = chunk.reduce((sum, b) => sum + b.byteLength, 0)
      const n = await this.#op(
        'write',
        (b, t) => b.writev(fd, chunk, pos, t),
        (r) => r
      )
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
    if (this.#isClosed()) return Promise.reject(ebadf('ftruncate'))
    try {
      validateInteger(len, 'len', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    } catch (e) {
      return Promise.reject(e)
    }
    const size = Math.max(0, len)
    const fd = this.#fd
    if (hasOp('ftruncate')) {
      return this.#op(
        'ftruncate',
        (b, t) => b.ftruncate(fd, size, t),
        () => undefined
      )
    }
    return this.#external('ftruncate', (d, cb) => nodeFs.ftruncate(d, size, cb))
  }

  /** `fchmod(2)` (through node:fs: io_uring has no opcode for it). */
  chmod(mode: string | number): Promise<void> {
    if (this.#isClosed()) return Promise.reject(ebadf('fchmod'))
    let m: number
    try {
      m = parseMode(mode, 0)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#external('fchmod', (d, cb) => nodeFs.fchmod(d, m, cb))
  }

  /** `fchown(2)` (through node:fs: io_uring has no opcode for it). `-1` leaves an id as is. */
  chown(uid: number, gid: number): Promise<void> {
    if (this.#isClosed()) return Promise.reject(ebadf('fchown'))
    try {
      validateInteger(uid, 'uid', -1, 2 ** 32 - 1)
      validateInteger(gid, 'gid', -1, 2 ** 32 - 1)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#external('fchown', (d, cb) => nodeFs.fchown(d, uid, gid, cb))
  }

  /** `futimens(2)` (through node:fs: io_uring has no opcode for it). Times as in Node. */
  utimes(atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    return this.#external('futimes', (d, cb) => nodeFs.futimes(d, atime, mtime, cb))
  }

  /** Reads from the current position to the end of the file. */
  async readFile(options?: ReadFileOptions | Encoding | null): Promise<Buffer | string> {
    const opts = typeof options === 'string' ? { encoding: options } : (options ?? {})
    validateSignal(opts.signal)
    // A direct handle on a kernel before 6.8 cannot be stat'ed (no FIXED_FD_INSTALL): read until EOF.
    const st = await this.stat().catch((e: { code?: string }) => {
      if (this.#direct && e.code === 'ERR_BOROS_UNSUPPORTED_OP') return undefined
      throw e
    })
    const data = await readAll(this, st?.isFile() ? st.size : 0, opts.signal)
    return opts.encoding ? data.toString(opts.encoding) : data
  }

  /** Writes all of `data` at the current position. */
  async writeFile(data: WriteData, options?: WriteFileOptions | Encoding | null): Promise<void> {
    const opts = typeof options === 'string' ? { encoding: options } : (options ?? {})
    validateSignal(opts.signal)
    await writeAll(this, toBytes(data, opts.encoding ?? 'utf8'), opts.signal)
  }

  /** Same as `writeFile` (appending when the file was opened with an `a` flag). */
  appendFile(data: WriteData, options?: WriteFileOptions | Encoding | null): Promise<void> {
    return this.writeFile(data, options)
  }

  /** @internal Whether the file was opened with `O_DIRECT` (reads need aligned owned buffers). */
  get _direct(): boolean {
    return (this.#route ?? this.#learnRoute())?.direct ?? false
  }

  #learnRoute(): Route | undefined {
    // A direct handle's #fd is a slot of the ring's file table, not a descriptor to fstatfs.
    if (this.#fd < 0 || this.#closing !== undefined || this.#direct) return undefined
    this.#route = learnRoute(this.#fd)
    return this.#route
  }

  /** A read off the plain io_uring path: tmpfs/procfs/FUSE routing, O_DIRECT, owned buffers. */
  #routedRead(
    route: Route,
    buf: NodeJS.ArrayBufferView,
    off: number,
    len: number,
    pos: number,
    signal: AbortSignal | null | undefined,
    owned: boolean
  ): Promise<number> {
    if (this.#fd < 0 || this.#closing !== undefined) return Promise.reject(ebadf('read'))
    const fd = this.#fd
    if (route.kind !== RING) {
      this.#pending++
      const settle = (): void => this.#settleOne()
      const p = routedRead(route.kind, fd, buf, off, len, pos, signal)
      p.then(settle, settle)
      return p
    }
    if (!owned && !ring().isOwned(buf)) {
      if (route.direct) return Promise.reject(directError(systemError(-22, 'read'), route))
      return this.#op(
        'read',
        (b, t) => b.read(fd, buf, off, len, pos, t),
        (n) => n,
        signal
      )
    }
    const p = this.#op(
      'read',
      (b, t) => b.readOwned(fd, buf, off, len, pos, t),
      (n) => n,
      signal
    )
    return route.direct ? p.catch((e: unknown) => Promise.reject(directError(e, route))) : p
  }

  /**
   * @internal Raw positional read used by readFile/streams: resolves with bytes read.
   * `owned`: `buf` is an owned buffer (see `ownedBuffer`), read into without a copy.
   */
  _readInto(
    buf: Uint8Array,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned = false
  ): Promise<number> {
    if (owned && this.#direct) {
      // An owned buffer on a direct handle (readFile's continuation): straight in, no bounce.
      const file = this.#file
      return this.#op(
        'read',
        (b, t) => b.readOwned(file, buf, off, len, pos, t),
        (n) => n,
        signal
      )
    }
    const special = this.#special('read', buf, off, len, pos, signal)
    if (special !== undefined) return special
    const route = this.#route ?? this.#learnRoute()
    if (route !== undefined && (owned || route.kind !== RING || route.direct)) {
      return this.#routedRead(route, buf, off, len, pos, signal, owned)
    }
    if (signal == null && len <= FAST_MAX) {
      const p = this.#queued(false, buf, off, len, pos, Shape.Count, undefined)
      if (p !== undefined) return p as Promise<number>
    }
    const fd = this.#fd
    return this.#op(
      'read',
      (b, t) => b.read(fd, buf, off, len, pos, t),
      (n) => n,
      signal
    )
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

  /** @internal Raw positional write used by writeFile: resolves with bytes written. */
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal | null): Promise<number> {
    const special = this.#special('write', buf, off, len, pos, signal)
    if (special !== undefined) return special
    if (signal == null && len <= FAST_MAX && !this.#route?.direct) {
      const p = this.#queued(true, buf, off, len, pos, Shape.Count, undefined)
      if (p !== undefined) return p as Promise<number>
    }
    const fd = this.#fd
    const p = this.#op(
      'write',
      (b, t) => b.write(fd, buf, off, len, pos, t),
      (n) => n,
      signal
    )
    return this.#route?.direct ? p.catch((e: unknown) => Promise.reject(directError(e, this.#route!))) : p
  }

  /** Closes the file once the operations in flight on it have finished. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    if (this.#fd < 0) return Promise.resolve()
    const fd = this.#file
    const direct = this.#direct
    const drained = this.#pending === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#drained = r))
    this.#closing = drained.then(() =>
      submit(
        (b, t) => b.close(fd, t),
        (result) => {
          // The slot is empty once the close completed (even a failed close drops the file).
          if (direct) ring().fileSlotFree(-2 - fd)
          if (result < 0) throw systemError(result, 'close')
          this.#fd = -1
          this.emit('close')
        }
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
