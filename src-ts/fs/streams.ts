/**
 * Node streams over io_uring: `createReadStream`/`createWriteStream` are Node's own
 * `fs.ReadStream`/`fs.WriteStream` (so every option, event and property is Node's), given an
 * `fs` option whose `open`/`read`/`write`/`fsync`/`close` go through boros. `readLines` and
 * `readableWebStream` are built on them as Node builds its own.
 *
 * An `AbortSignal` does more than destroy the stream: the read or write in flight when it
 * fires is cancelled in the kernel (`IORING_OP_ASYNC_CANCEL`).
 * @module
 */
import * as fs from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { usesRing } from '../binding.js'
import { codedError, invalidArgType } from '../errors.js'
import { toPath, validateSignal, type PathLike } from '../validate.js'
import { FileHandle } from './file-handle.js'
import { ownedBuffer } from './io.js'
import { open } from './index.js'

type Callback<T> = (err: Error | null, value?: T) => void

/** Options of `createReadStream`: Node's, see `fs.createReadStream`. */
export interface ReadStreamOptions {
  /** Open flags when given a path (default `'r'`). */
  readonly flags?: string | number
  /** Decode chunks to strings with this encoding. */
  readonly encoding?: BufferEncoding | null
  /** Mode when the file is created (default `0o666`). */
  readonly mode?: number
  /** Close the file when the stream ends or fails (default `true`). */
  readonly autoClose?: boolean
  /** Emit `'close'` after the stream is destroyed (default `true`). */
  readonly emitClose?: boolean
  /** First byte to read (inclusive). Default: the current position. */
  readonly start?: number
  /** Last byte to read (inclusive). Default: end of file. */
  readonly end?: number
  /** Bytes per read (default 64 KiB). */
  readonly highWaterMark?: number
  /** Destroys the stream and cancels the read in flight in the kernel. */
  readonly signal?: AbortSignal | null
}

/** Options of `createWriteStream`: Node's, see `fs.createWriteStream`. */
export interface WriteStreamOptions {
  /** Open flags when given a path (default `'w'`). */
  readonly flags?: string | number
  /** Default encoding of string chunks (default `'utf8'`). */
  readonly encoding?: BufferEncoding | null
  /** Mode when the file is created (default `0o666`). */
  readonly mode?: number
  /** Close the file when the stream finishes or fails (default `true`). */
  readonly autoClose?: boolean
  /** Emit `'close'` after the stream is destroyed (default `true`). */
  readonly emitClose?: boolean
  /** Position of the first write. Default: the current position. */
  readonly start?: number
  /** `fsync` the file before closing it. */
  readonly flush?: boolean
  /** Buffered bytes before `write()` returns false (default 16 KiB). */
  readonly highWaterMark?: number
  /** Destroys the stream and cancels the write in flight in the kernel. */
  readonly signal?: AbortSignal | null
}

/** Options of `readableWebStream`. */
export interface WebStreamOptions {
  /** `'bytes'`: accepted for Node 20's API; the stream is always a byte stream (as Node 22.15+/24's). */
  readonly type?: 'bytes'
  /** Close the FileHandle when the stream ends or is cancelled (default `false`). */
  readonly autoClose?: boolean
}

/**
 * The `fs` object handed to Node's stream classes. It serves one stream: `open` (when the
 * stream was given a path) makes the FileHandle every other call uses.
 */
function streamFs(initial: FileHandle | undefined, signal: AbortSignal | null | undefined) {
  let fh = initial
  const handle = (fd: number): FileHandle => {
    if (fh === undefined || fh.fd !== fd)
      throw Object.assign(new Error('EBADF: bad file descriptor'), { code: 'EBADF' })
    return fh
  }
  const settle = <T>(p: Promise<T>, cb: Callback<T>): void => {
    p.then(
      (v) => cb(null, v),
      (e: Error) => cb(e)
    )
  }
  const pos = (position: number | bigint | null | undefined): number => (position == null ? -1 : Number(position))
  return {
    open(path: string, flags: string | number, mode: number, cb: Callback<number>): void {
      settle(
        open(path, flags, mode).then((h) => {
          fh = h
          return h.fd
        }),
        cb
      )
    },
    read(
      fd: number,
      buf: Buffer,
      off: number,
      len: number,
      position: number | null,
      cb: (err: Error | null, n?: number, buf?: Buffer) => void
    ): void {
      try {
        const h = handle(fd)
        if (h._direct) {
          // O_DIRECT needs aligned memory: read into an owned aligned buffer, then copy.
          const aligned = ownedBuffer(len, 4096)
          h._readInto(aligned, 0, len, pos(position), signal, true).then(
            (n) => {
              aligned.copy(buf, off, 0, n)
              cb(null, n, buf)
            },
            (e: Error) => cb(e)
          )
          return
        }
        if (Object.hasOwn(h, 'read')) {
          // The caller replaced the handle's read(): Node's streams go through it, so do we.
          h.read(buf, off, len, position).then(
            (r) => cb(null, r.bytesRead, buf),
            (e: Error) => cb(e)
          )
          return
        }
        h._readInto(buf, off, len, pos(position), signal).then(
          (n) => cb(null, n, buf),
          (e: Error) => {
            // The handle was closed under the stream: Node destroys the stream at close(), so
            // it only emits 'close'. Here the read that raced the close is let go once the
            // handle's 'close' has destroyed the stream (a destroyed stream ignores it).
            if (closedUnder(h, e)) afterClose(h, () => cb(null, 0, buf))
            else cb(e)
          }
        )
      } catch (e) {
        cb(e as Error)
      }
    },
    write(
      fd: number,
      buf: Buffer,
      off: number,
      len: number,
      position: number | null,
      cb: (err: Error | null, n?: number) => void
    ): void {
      try {
        const h = handle(fd)
        // A replaced write() is called, as Node's streams call the handle's own.
        if (Object.hasOwn(h, 'write'))
          settle(
            h.write(buf, off, len, position).then((r) => r.bytesWritten),
            cb
          )
        else settle(h._writeFrom(buf, off, len, pos(position), signal), cb)
      } catch (e) {
        cb(e as Error)
      }
    },
    fsync(fd: number, cb: Callback<void>): void {
      try {
        settle(handle(fd).sync(), cb)
      } catch (e) {
        cb(e as Error)
      }
    },
    close(fd: number, cb: Callback<void>): void {
      // Closed by other means already (the stream follows the handle's 'close'): nothing to do.
      if (fh !== undefined && fh.fd === -1) {
        cb(null)
        return
      }
      try {
        settle(handle(fd).close(), cb)
      } catch (e) {
        cb(e as Error)
      }
    }
  }
}

/** Whether `e` is the EBADF of an operation on a handle that close() was called on. */
function closedUnder(fh: FileHandle, e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown }
  return (
    err?.code === 'EBADF' &&
    (fh.fd === -1 || (fh as unknown as { _closing?: boolean })._closing === true || err.message === 'file closed')
  )
}

/** Runs `fn` once the handle has emitted 'close' (on the next turn, after its listeners). */
function afterClose(fh: FileHandle, fn: () => void): void {
  if (fh.fd === -1) setImmediate(fn)
  else fh.once('close', () => setImmediate(fn))
}

/** Whether the options carry a caller's own `fs` implementation. */
function hasOwnFs(options: object | undefined): boolean {
  return options != null && typeof options === 'object' && 'fs' in options && options.fs != null
}

function checkOptions(options: object | undefined): void {
  if (hasOwnFs(options)) {
    // Node's error: a plain Error (not a TypeError).
    throw codedError(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The FileHandle with fs method is not implemented')
  }
  validateSignal((options as { signal?: unknown } | undefined)?.signal)
}

/** When the handle closes by other means, the stream closes too (as Node does). */
function followClose(fh: FileHandle, stream: fs.ReadStream | fs.WriteStream): void {
  const onClose = (): void => {
    if (!stream.destroyed) stream.destroy()
  }
  fh.once('close', onClose)
  ;(stream as NodeJS.EventEmitter).once('close', () => fh.off('close', onClose))
}

/** `filehandle.createReadStream(options)`. */
export function handleReadStream(fh: FileHandle, options?: ReadStreamOptions): fs.ReadStream {
  checkOptions(options)
  const stream = fs.createReadStream(
    undefined as unknown as string,
    {
      ...options,
      fd: fh.fd,
      fs: streamFs(fh, options?.signal)
    } as Parameters<typeof fs.createReadStream>[1]
  )
  followClose(fh, stream)
  return stream
}

/** `filehandle.createWriteStream(options)`. */
export function handleWriteStream(fh: FileHandle, options?: WriteStreamOptions): fs.WriteStream {
  checkOptions(options)
  const stream = fs.createWriteStream(
    undefined as unknown as string,
    {
      ...options,
      fd: fh.fd,
      fs: streamFs(fh, options?.signal)
    } as Parameters<typeof fs.createWriteStream>[1]
  )
  followClose(fh, stream)
  return stream
}

/**
 * Node's `fs.createReadStream`, reading through io_uring. `path` may be a path or a boros
 * `FileHandle` (read from it; closed at the end unless `autoClose: false`). All of Node's
 * options: `flags`, `encoding`, `mode`, `autoClose`, `emitClose`, `start`, `end`,
 * `highWaterMark`, `signal` (which also cancels the read in flight in the kernel).
 */
export function createReadStream(
  path: PathLike | FileHandle,
  options?: ReadStreamOptions | BufferEncoding
): fs.ReadStream {
  const opts = typeof options === 'string' ? { encoding: options } : options
  if (path instanceof FileHandle) return handleReadStream(path, opts)
  // No ring, or the caller's own `fs` does the I/O: Node's stream as it is.
  if (!usesRing() || hasOwnFs(opts)) return fs.createReadStream(path, opts as Parameters<typeof fs.createReadStream>[1])
  checkOptions(opts)
  const p = toPath(path)
  return fs.createReadStream(p, { ...opts, fs: streamFs(undefined, opts?.signal) } as Parameters<
    typeof fs.createReadStream
  >[1])
}

/**
 * Node's `fs.createWriteStream`, writing through io_uring. `path` may be a path or a boros
 * `FileHandle`. All of Node's options: `flags`, `encoding`, `mode`, `autoClose`, `emitClose`,
 * `start`, `flush` (fsync before close), `highWaterMark`, `signal`.
 */
export function createWriteStream(
  path: PathLike | FileHandle,
  options?: WriteStreamOptions | BufferEncoding
): fs.WriteStream {
  const opts = typeof options === 'string' ? { encoding: options } : options
  if (path instanceof FileHandle) return handleWriteStream(path, opts)
  // No ring, or the caller's own `fs` does the I/O: Node's stream as it is.
  if (!usesRing() || hasOwnFs(opts))
    return fs.createWriteStream(path, opts as Parameters<typeof fs.createWriteStream>[1])
  checkOptions(opts)
  const p = toPath(path)
  return fs.createWriteStream(p, { ...opts, fs: streamFs(undefined, opts?.signal) } as Parameters<
    typeof fs.createWriteStream
  >[1])
}

/** `filehandle.readLines(options)`: a readline interface with `crlfDelay: Infinity`, as Node's. */
export function readLines(fh: FileHandle, options?: ReadStreamOptions): Interface {
  return createInterface({ input: handleReadStream(fh, options), crlfDelay: Infinity })
}

function invalidState(message: string): Error {
  return codedError(Error, 'ERR_INVALID_STATE', `Invalid state: ${message}`)
}

const locked = new WeakSet<FileHandle>()

/**
 * `filehandle.readableWebStream(options)`: reads from the current position to EOF. Always a
 * byte stream (BYOB readers supply the memory; default readers get `Uint8Array` chunks), as
 * Node 24's. `autoClose: true` closes the handle at the end of the stream or when it is
 * cancelled. Like Node's, the handle is locked to the stream, and closing the handle cancels
 * the stream.
 */
export function readableWebStream(fh: FileHandle, options: WebStreamOptions = {}): ReadableStream<Uint8Array> {
  if (fh.fd === -1) throw invalidState('The FileHandle is closed')
  // A handle whose close() was called but has not finished (Node: "The FileHandle is closing").
  // FileHandle has no public way to tell; `_closing` is read where it exists (see FINDINGS.md).
  if ((fh as unknown as { _closing?: boolean })._closing === true) throw invalidState('The FileHandle is closing')
  if (locked.has(fh)) throw invalidState('The FileHandle is locked')
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options)
  if (options.type !== undefined && typeof options.type !== 'string') {
    throw codedError(
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `The "options.type" property must be of type string. Received type ${typeof options.type}`
    )
  }
  if (options.type !== undefined && options.type !== 'bytes') {
    process.emitWarning(
      'A non-"bytes" options.type has no effect. A byte-oriented steam is always created.',
      'ExperimentalWarning'
    )
  }
  const autoClose = options.autoClose === undefined ? false : options.autoClose
  if (typeof autoClose !== 'boolean') throw invalidArgType('options.autoClose', 'of type boolean', autoClose)
  // Like Node's, the handle stays locked to this stream for good.
  locked.add(fh)
  const done = async (): Promise<void> => {
    if (autoClose) await fh.close()
  }
  let ctl: ReadableByteStreamController | undefined
  let ended = false
  const stream = new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: 16384,
    start(controller) {
      ctl = controller
    },
    async pull(controller) {
      const req = controller.byobRequest!
      const view = req.view as Uint8Array
      let n: number
      try {
        n = await fh._readInto(view, 0, view.byteLength, -1)
      } catch (e) {
        // A read that raced close(): the handle's 'close' ends the stream (below), as in Node.
        if (closedUnder(fh, e)) return new Promise<void>((r) => afterClose(fh, r))
        throw e
      }
      if (ended) return
      if (n === 0) {
        ended = true
        controller.close()
        req.respond(0)
        await done()
        return
      }
      req.respond(n)
    },
    cancel() {
      ended = true
      return done()
    }
  })
  // Closing the handle ends the stream, even one locked to a reader (Node cancels it).
  fh.once('close', () => {
    if (ended) return
    ended = true
    try {
      ctl!.close()
      ctl!.byobRequest?.respond(0)
    } catch {
      // already closed or errored
    }
  })
  return stream
}
