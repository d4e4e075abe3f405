/**
 * `FileHandle`: an open file, mirroring `node:fs/promises`' FileHandle.
 * @module
 */
import { EventEmitter } from 'node:events'
import type { Stats } from 'node:fs'
import { dropToken, ring, submit, takeToken, type Start } from '../binding.js'
import { currentTask } from '../task-context.js'
import { systemError } from '../errors.js'
import { validateBuffer, validateOffsetLength, validatePosition, validateSignal, MAX_RW } from '../validate.js'
import { STAT_FIELDS, toStats } from './stats.js'
import { readAll, writeAll, toBytes, type WriteData, type Encoding } from './io.js'
import { poolSlotOf } from '../buffer-pool.js'

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
export interface StatOptions {
  /** Not supported on the io_uring path yet: `bigint: true` is served by `node:fs`. */
  readonly bigint?: boolean
}

function ebadf(syscall: string): Error {
  return systemError(-9, syscall)
}

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
    signal?: AbortSignal | null
  ): Promise<number> | undefined {
    const slot = poolSlotOf(buf)
    if (slot === undefined && !this.#direct) return undefined
    const file = this.#file
    if (slot !== undefined) {
      const { native, index } = slot
      const start = buf.byteOffset + off
      return this.#op(
        kind,
        kind === 'read'
          ? (b, t) => b.poolRead(file, native, index, start, len, pos, t)
          : (b, t) => b.poolWrite(file, native, index, start, len, pos, t),
        (n) => n,
        signal
      )
    }
    return this.#op(
      kind,
      kind === 'read'
        ? (b, t) => b.targetRead(file, buf, off, len, pos, t)
        : (b, t) => b.targetWrite(file, buf, off, len, pos, t),
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
      const special = this.#special('read', buf, off, len, pos, opts?.signal)
      if (special !== undefined) return special.then((n) => ({ bytesRead: n, buffer: buf }))
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
      const special = this.#special('write', buf, off, len, pos)
      if (special !== undefined) return special.then((n) => ({ bytesWritten: n, buffer: data }))
      return this.#op(
        'write',
        (b, t) => b.write(fd, buf, off, len, pos, t),
        (n) => ({ bytesWritten: n, buffer: data })
      )
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** `fstat` through statx. */
  stat(options?: StatOptions): Promise<Stats> {
    if (options?.bigint)
      return Promise.reject(new TypeError('boros: stat({ bigint: true }) is not supported yet; use node:fs'))
    if (this.#direct) return this.#statDirect()
    const out = new Float64Array(STAT_FIELDS)
    const fd = this.#fd
    return this.#op(
      'fstat',
      (b, t) => b.statx(null, fd, true, out, t),
      () => toStats(out)
    )
  }

  /**
   * statx needs a descriptor in the process's table: install one for the direct descriptor
   * (`IORING_OP_FIXED_FD_INSTALL`, Linux 6.8), stat it, close it.
   */
  async #statDirect(): Promise<Stats> {
    const slot = this.#fd
    const fd = await this.#op(
      'fstat',
      (b, t) => b.installFd(slot, t),
      (n) => n
    )
    try {
      const out = new Float64Array(STAT_FIELDS)
      await submit(
        (b, t) => b.statx(null, fd, true, out, t),
        (result) => {
          if (result < 0) throw systemError(result, 'fstat')
        }
      )
      return toStats(out)
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
      (b, t) => b.targetFsync(fd, false, t),
      () => undefined
    )
  }

  /** `fdatasync(2)`. */
  datasync(): Promise<void> {
    const fd = this.#file
    return this.#op(
      'fdatasync',
      (b, t) => b.targetFsync(fd, true, t),
      () => undefined
    )
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

  /** @internal Raw positional read used by readFile/streams: resolves with bytes read. */
  _readInto(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal): Promise<number> {
    const special = this.#special('read', buf, off, len, pos, signal)
    if (special !== undefined) return special
    const fd = this.#fd
    return this.#op(
      'read',
      (b, t) => b.read(fd, buf, off, len, pos, t),
      (n) => n,
      signal
    )
  }

  /** @internal Raw positional write used by writeFile: resolves with bytes written. */
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal): Promise<number> {
    const special = this.#special('write', buf, off, len, pos, signal)
    if (special !== undefined) return special
    const fd = this.#fd
    return this.#op(
      'write',
      (b, t) => b.write(fd, buf, off, len, pos, t),
      (n) => n,
      signal
    )
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
        (b, t) => (direct ? b.targetClose(fd, t) : b.close(fd, t)),
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
