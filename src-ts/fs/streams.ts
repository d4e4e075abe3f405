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
import type { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { codedError, invalidArgType } from '../errors.js'
import { validateSignal } from '../validate.js'
import { ownedBuffer } from './io.js'

type Callback<T> = (err: Error | null, value?: T) => void

/**
 * The `fd` a stream over a direct handle (which has no descriptor) hands Node's stream class,
 * which insists on one. No descriptor can have this number (the kernel caps descriptors below
 * `fs.nr_open`, at most 2^31 - 64), and the stream only ever gives it back to `streamFs` below,
 * which maps it to the handle: it never reaches a system call.
 */
const NO_DESCRIPTOR = 0x7fffffff

/** The number a stream over `fh` knows it by. */
function streamFd(fh: StreamFile): number {
  return fh.fd >= 0 ? fh.fd : fh._closed ? -1 : NO_DESCRIPTOR
}

/**
 * What a stream needs of a file handle (`FileHandle` has it). Streams know handles by this
 * shape only, so the handle's module can build streams without the two importing each other.
 */
export interface StreamFile extends EventEmitter {
  readonly fd: number
  /** @internal Closed (not just closing). */
  readonly _closed: boolean
  /** @internal `close()` was called and has not finished. */
  readonly _closing: boolean
  /** @internal Opened with `O_DIRECT`. */
  readonly _oDirect: boolean
  _readInto(
    buf: Uint8Array,
    off: number,
    len: number,
    pos: number,
    signal?: AbortSignal | null,
    owned?: boolean
  ): Promise<number>
  _writeFrom(buf: Uint8Array, off: number, len: number, pos: number, signal?: AbortSignal | null): Promise<number>
  sync(): Promise<void>
  close(): Promise<void>
  /** @internal An fsync will follow the writes (`flush: true`): write-behind.ts. */
  _expectSync(): void
  /** The public read/write: called instead of `_readInto`/`_writeFrom` when a caller replaced them. */
  read(buf: Buffer, off: number, len: number, position: number | null): Promise<{ bytesRead: number }>
  write(buf: Buffer, off: number, len: number, position: number | null): Promise<{ bytesWritten: number }>
  /** Chunks a write stream had buffered, in one `writev` (see `streamFs`). */
  writev(buffers: readonly NodeJS.ArrayBufferView[], position?: number | null): Promise<{ bytesWritten: number }>
}

/** Opens a file for a stream given a path (`open` of `boros/fs`). */
export type Opener = (path: string, flags: string | number, mode: number) => Promise<StreamFile>

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
function streamFs(
  initial: StreamFile | undefined,
  signal: AbortSignal | null | undefined,
  open?: Opener,
  flush?: boolean
) {
  let fh = initial
  // A write stream with `flush: true` syncs its file before closing it: write it behind.
  if (flush === true) fh?._expectSync()
  const handle = (fd: number): StreamFile => {
    if (fh === undefined || streamFd(fh) !== fd)
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
        open!(path, flags, mode).then((h) => {
          fh = h
          if (flush === true) h._expectSync()
          // A signal aborted when the stream was made destroys it before this open starts, and
          // Node's stream then never closes what the open returns (node:fs leaks the
          // descriptor there). The stream is dead: close the handle, or it would be closed by
          // the garbage collector (an uncaught ERR_INVALID_STATE on Node 26).
          const fd = streamFd(h)
          if (signal?.aborted === true) void h.close().catch(() => {})
          return fd
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
        if (h._oDirect) {
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
    // Node's WriteStream hands the chunks it buffered while a write was in flight to `writev`
    // when the fs object has one (one io_uring writev instead of one write per chunk, in order;
    // Node retries what a short writev left). Not with a signal: `writev` has no kernel cancel
    // here, and an abort must cancel the write in flight.
    ...(signal == null
      ? {
          writev(
            fd: number,
            buffers: readonly NodeJS.ArrayBufferView[],
            position: number | null,
            cb: (err: Error | null, n?: number) => void
          ): void {
            try {
              settle(
                handle(fd)
                  .writev(buffers, position)
                  .then((r) => r.bytesWritten),
                cb
              )
            } catch (e) {
              cb(e as Error)
            }
          }
        }
      : {}),
    fsync(fd: number, cb: Callback<void>): void {
      try {
        settle(handle(fd).sync(), cb)
      } catch (e) {
        cb(e as Error)
      }
    },
    close(fd: number, cb: Callback<void>): void {
      // Closed by other means already (the stream follows the handle's 'close'): nothing to do.
      if (fh !== undefined && fh._closed) {
        cb(null)
        return
      }
      // Closing already (above, after an abort): done when that close is.
      if (fh?._closing === true) {
        settle(fh.close(), cb)
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
function closedUnder(fh: StreamFile, e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown }
  return err?.code === 'EBADF' && (fh._closed || fh._closing || err.message === 'file closed')
}

/** Runs `fn` once the handle has emitted 'close' (on the next turn, after its listeners). */
function afterClose(fh: StreamFile, fn: () => void): void {
  if (fh._closed) setImmediate(fn)
  else fh.once('close', () => setImmediate(fn))
}

/** Whether the options carry a caller's own `fs` implementation. */
export function hasOwnFs(options: object | undefined): boolean {
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
function followClose(fh: StreamFile, stream: fs.ReadStream | fs.WriteStream): void {
  const onClose = (): void => {
    if (!stream.destroyed) stream.destroy()
  }
  fh.once('close', onClose)
  ;(stream as NodeJS.EventEmitter).once('close', () => fh.off('close', onClose))
}

/** `filehandle.createReadStream(options)`. */
export function handleReadStream(fh: StreamFile, options?: ReadStreamOptions): fs.ReadStream {
  checkOptions(options)
  const stream = fs.createReadStream(
    undefined as unknown as string,
    {
      ...options,
      fd: streamFd(fh),
      fs: streamFs(fh, options?.signal)
    } as Parameters<typeof fs.createReadStream>[1]
  )
  followClose(fh, stream)
  return stream
}

/** `filehandle.createWriteStream(options)`. */
export function handleWriteStream(fh: StreamFile, options?: WriteStreamOptions): fs.WriteStream {
  checkOptions(options)
  const stream = fs.createWriteStream(
    undefined as unknown as string,
    {
      ...options,
      fd: streamFd(fh),
      fs: streamFs(fh, options?.signal, undefined, options?.flush)
    } as Parameters<typeof fs.createWriteStream>[1]
  )
  followClose(fh, stream)
  return stream
}

/** `fs.createReadStream` of a path, its `open` through `open` (see path-streams.ts). */
export function pathReadStream(path: string, opts: ReadStreamOptions | undefined, open: Opener): fs.ReadStream {
  checkOptions(opts)
  return fs.createReadStream(path, { ...opts, fs: streamFs(undefined, opts?.signal, open) } as Parameters<
    typeof fs.createReadStream
  >[1])
}

/** `fs.createWriteStream` of a path, its `open` through `open` (see path-streams.ts). */
export function pathWriteStream(path: string, opts: WriteStreamOptions | undefined, open: Opener): fs.WriteStream {
  checkOptions(opts)
  return fs.createWriteStream(path, {
    ...opts,
    fs: streamFs(undefined, opts?.signal, open, opts?.flush)
  } as Parameters<typeof fs.createWriteStream>[1])
}

/** `filehandle.readLines(options)`: a readline interface with `crlfDelay: Infinity`, as Node's. */
export function readLines(fh: StreamFile, options?: ReadStreamOptions): Interface {
  return createInterface({ input: handleReadStream(fh, options), crlfDelay: Infinity })
}

function invalidState(message: string): Error {
  return codedError(Error, 'ERR_INVALID_STATE', `Invalid state: ${message}`)
}

const locked = new WeakSet<StreamFile>()

/**
 * `filehandle.readableWebStream(options)`: reads from the current position to EOF. Always a
 * byte stream (BYOB readers supply the memory; default readers get `Uint8Array` chunks), as
 * Node 24's. `autoClose: true` closes the handle at the end of the stream or when it is
 * cancelled. Like Node's, the handle is locked to the stream, and closing the handle cancels
 * the stream.
 */
export function readableWebStream(fh: StreamFile, options: WebStreamOptions = {}): ReadableStream<Uint8Array> {
  if (fh._closed) throw invalidState('The FileHandle is closed')
  // A handle whose close() was called but has not finished (Node: "The FileHandle is closing").
  if (fh._closing) throw invalidState('The FileHandle is closing')
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
