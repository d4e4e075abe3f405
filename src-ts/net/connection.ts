/**
 * The low-level socket API: a `Connection` (a connected stream socket on the ring: multishot
 * receive, batched sends) and a `Listener` (a multishot accept). No streams, no promises per
 * message: bytes arrive through `onData` in the same JS call as the whole batch of
 * completions, and writes queued while a send is in flight go out together as one `sendmsg`.
 * `boros/net`'s `Socket` and `Server` (node:net's shape) are built on these.
 * @module
 */
import { closeStream, openStream, ring, submit, type NativeBinding } from '../binding.js'
import { systemError } from '../errors.js'
import { EVENT_REARM, FILE_KIND_FD } from '../wire.js'

const ECANCELED = -125

/** Callbacks of a {@link Connection}. */
export interface ConnectionEvents {
  /** Bytes received (a view of the batch's buffer: keep it, it is not reused). */
  onData?: (chunk: Buffer) => void
  /** The peer ended its side (a FIN): no more `onData`. */
  onEnd?: () => void
  /** A receive or send failed (the connection is not closed by it). */
  onError?: (err: Error) => void
}

type WriteCallback = (err?: Error | null) => void

/**
 * A connected stream socket (TCP or Unix) on the ring. Receiving starts with `resume()`;
 * `pause()` stops it in the kernel (the multishot receive is cancelled; what the peer sends
 * meanwhile waits in the socket: real backpressure). `write()` sends every byte, in order.
 */
export class Connection {
  /** The socket's descriptor (-1 once closed). */
  fd: number
  readonly events: ConnectionEvents
  #stream = -1
  #recvKey = -1
  #reading = false
  #ended = false
  #sending = false
  #queue: Buffer[] = []
  #callbacks: WriteCallback[] = []
  #queuedBytes = 0
  /** Bytes received and handed to `onData`. */
  bytesRead = 0
  /** Bytes the kernel took. */
  bytesWritten = 0
  #closing: Promise<void> | undefined

  constructor(fd: number, events: ConnectionEvents = {}) {
    this.fd = fd
    this.events = events
  }

  /** Bytes queued by `write()` and not yet sent. */
  get pendingBytes(): number {
    return this.#queuedBytes
  }

  /** Whether the peer ended its side. */
  get ended(): boolean {
    return this.#ended
  }

  #onEvent = (result: number, data: Buffer | undefined, offset: number): void => {
    if (result > 0) {
      this.bytesRead += result
      this.events.onData?.(data!.subarray(offset, offset + result))
      return
    }
    // The multishot receive ended: its last event.
    this.#recvKey = -1
    if (result === EVENT_REARM) {
      if (this.#reading && this.fd >= 0) this.#arm()
      return
    }
    if (result === 0) {
      this.#ended = true
      this.#reading = false
      this.events.onEnd?.()
      return
    }
    if (result === ECANCELED && (!this.#reading || this.fd < 0)) return // a pause or a close
    this.#reading = false
    this.events.onError?.(systemError(result, 'read'))
  }

  #arm(): void {
    if (this.#stream < 0) this.#stream = openStream(this.#onEvent)
    this.#recvKey = ring().recvStart(this.fd, this.#stream)
  }

  /** Starts (or goes on) receiving. */
  resume(): void {
    if (this.#reading || this.#ended || this.fd < 0) return
    this.#reading = true
    if (this.#recvKey < 0) this.#arm()
  }

  /** Stops receiving: the kernel stops taking bytes from the socket for us. */
  pause(): void {
    if (!this.#reading) return
    this.#reading = false
    if (this.#recvKey >= 0) ring().cancel(this.#recvKey)
  }

  /**
   * Queues `chunk` (sent whole, in order; `cb` once the kernel took all of it). Returns the
   * bytes still queued after this one, for backpressure.
   */
  write(chunk: Buffer, cb?: WriteCallback): number {
    if (this.fd < 0) {
      const err = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' })
      if (cb) queueMicrotask(() => cb(err))
      return this.#queuedBytes
    }
    this.#queue.push(chunk)
    this.#callbacks.push(cb ?? noop)
    this.#queuedBytes += chunk.byteLength
    if (!this.#sending) this.#flush()
    return this.#queuedBytes
  }

  #flush(): void {
    const bufs = this.#queue
    const cbs = this.#callbacks
    this.#queue = []
    this.#callbacks = []
    this.#sending = true
    const fd = this.fd
    const total = bufs.reduce((n, b) => n + b.byteLength, 0)
    const start =
      bufs.length === 1
        ? (b: NativeBinding, t: number) => b.send(fd, bufs[0]!, t)
        : (b: NativeBinding, t: number) => b.sendv(fd, bufs, t)
    submit(start, (r) => r).then(
      (sent) => {
        if (sent < 0) {
          this.#sending = false
          this.#queuedBytes -= total
          const err = systemError(sent, 'write')
          for (const cb of cbs) cb(err)
          this.events.onError?.(err)
          return
        }
        this.bytesWritten += sent
        if (sent < total) {
          // A short send: what is left goes first, with what was queued meanwhile.
          const rest = rest_(bufs, sent)
          const done = bufs.length - rest.length
          this.#queuedBytes -= sent
          this.#queue = [...rest, ...this.#queue]
          this.#callbacks = [...cbs.slice(done), ...this.#callbacks]
          // Callbacks of the buffers sent whole run now.
          for (let i = 0; i < done; i++) cbs[i]!()
          if (this.fd >= 0) this.#flush()
          else this.#sending = false
          return
        }
        this.#queuedBytes -= total
        this.#sending = false
        for (const cb of cbs) cb()
        if (this.#queue.length > 0 && this.fd >= 0) this.#flush()
      },
      (err: Error) => {
        this.#sending = false
        for (const cb of cbs) cb(err)
      }
    )
  }

  /** Ends our side (`shutdown(SHUT_WR)`) once every queued byte is sent. */
  end(cb?: WriteCallback): void {
    const fd = this.fd
    const shut = (): void => {
      if (this.fd < 0) return cb?.()
      submit(
        (b, t) => b.shutdown(fd, 1, t),
        (r) => {
          if (r < 0 && r !== -107 /* ENOTCONN */) throw systemError(r, 'shutdown')
        }
      ).then(() => cb?.(), cb)
    }
    if (this.#sending || this.#queue.length > 0) this.write(Buffer.alloc(0), (err) => (err ? cb?.(err) : shut()))
    else shut()
  }

  /** Stops receiving and closes the socket (queued writes are dropped with `ECANCELED`). */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    const fd = this.fd
    this.#reading = false
    if (this.#recvKey >= 0) ring().cancel(this.#recvKey)
    this.fd = -1
    const stream = this.#stream
    if (stream >= 0) queueMicrotask(() => closeStream(stream))
    const err = Object.assign(new Error('The socket was closed'), { code: 'ERR_SOCKET_CLOSED' })
    for (const cb of this.#callbacks) cb(err)
    this.#queue = []
    this.#callbacks = []
    this.#queuedBytes = 0
    this.#closing = submit(
      (b, t) => b.close(FILE_KIND_FD, fd, t),
      () => undefined
    )
    return this.#closing
  }
}

function noop(): void {}

/** The part of `bufs` not yet sent after `sent` bytes. */
function rest_(bufs: Buffer[], sent: number): Buffer[] {
  let i = 0
  while (i < bufs.length && sent >= bufs[i]!.byteLength) sent -= bufs[i++]!.byteLength
  const rest = bufs.slice(i)
  if (rest.length > 0 && sent > 0) rest[0] = rest[0]!.subarray(sent)
  return rest
}

/** Callbacks of a {@link Listener}. */
export interface ListenerEvents {
  /** A new connection's descriptor. */
  onConnection: (fd: number) => void
  /** Accepting failed (the listener is not closed by it). */
  onError?: (err: Error) => void
}

/** Where and how to listen. */
export type ListenAddress =
  | { readonly host: string; readonly port: number; readonly ipv6Only?: boolean; readonly reusePort?: boolean }
  | { readonly path: string }

/**
 * A listening socket with a multishot accept armed: every connection the kernel accepts is
 * an `onConnection(fd)`, in the batch it arrived with.
 */
export class Listener {
  /** The listening socket (-1 once closed). */
  fd: number
  readonly events: ListenerEvents
  #stream: number
  #key = -1
  #closing: Promise<void> | undefined

  /** Listens (synchronously: socket, bind, listen) and starts accepting. Throws Node's error. */
  constructor(address: ListenAddress, backlog: number, events: ListenerEvents) {
    const b = ring()
    const r =
      'path' in address
        ? b.unixListen(address.path, backlog)
        : b.tcpListen(address.host, address.port, backlog, address.ipv6Only ?? false, address.reusePort ?? false)
    if (r.fd < 0) {
      const where = 'path' in address ? address.path : `${address.host}:${address.port}`
      const err = systemError(r.errno, r.syscall) as Error & { address?: string; port?: number }
      err.message = `${err.message} ${where}`
      if ('path' in address) err.address = address.path
      else {
        err.address = address.host
        err.port = address.port
      }
      throw err
    }
    this.fd = r.fd
    this.events = events
    this.#stream = openStream(this.#onEvent)
    this.#arm()
  }

  #arm(): void {
    this.#key = ring().acceptStart(this.fd, this.#stream)
  }

  #onEvent = (result: number): void => {
    if (result >= 0) {
      if (this.fd < 0) {
        // A connection accepted as the listener closed: nobody will serve it.
        submit(
          (b, t) => b.close(FILE_KIND_FD, result, t),
          () => undefined
        ).catch(() => undefined)
        return
      }
      this.events.onConnection(result)
      return
    }
    this.#key = -1
    if (this.fd < 0) return
    if (result === EVENT_REARM) {
      this.#arm()
      return
    }
    if (result === ECANCELED) return
    this.events.onError?.(systemError(result, 'accept'))
    // Transient errors (EMFILE, ENFILE, ENOBUFS...): go on accepting, as libuv does.
    this.#arm()
  }

  /** The bound address (the port the kernel picked for port 0). */
  address(): { family: string; address: string; port: number } | null {
    return this.fd < 0 ? null : ring().socketAddress(this.fd, false)
  }

  /** Stops accepting and closes the socket. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    const fd = this.fd
    this.fd = -1
    if (this.#key >= 0) ring().cancel(this.#key)
    const stream = this.#stream
    // Late connections of the cancelled accept still arrive (and are closed) in this batch.
    setImmediate(() => closeStream(stream))
    this.#closing = submit(
      (b, t) => b.close(FILE_KIND_FD, fd, t),
      () => undefined
    )
    return this.#closing
  }
}

/** Opens a socket and connects it; resolves with the connected descriptor, rejects with Node's error. */
export async function connectFd(
  to: { readonly host: string; readonly port: number; readonly family: 4 | 6 } | { readonly path: string },
  local?: { readonly address?: string; readonly port?: number }
): Promise<number> {
  const b = ring()
  const fd = b.streamSocket('path' in to ? 0 : to.family)
  if (fd < 0) throw systemError(fd, 'socket')
  try {
    if (!('path' in to) && local !== undefined && (local.address !== undefined || local.port !== undefined)) {
      const r = b.tcpBind(fd, local.address ?? (to.family === 6 ? '::' : '0.0.0.0'), local.port ?? 0)
      if (r < 0) throw systemError(r, 'bind')
    }
    await submit(
      (bb, t) => ('path' in to ? bb.unixConnect(fd, to.path, t) : bb.tcpConnect(fd, to.host, to.port, t)),
      (r) => {
        if (r < 0) {
          const err = systemError(r, 'connect') as Error & { address?: string; port?: number }
          if ('path' in to) {
            err.message += ` ${to.path}`
            err.address = to.path
          } else {
            err.message += ` ${to.host}:${to.port}`
            err.address = to.host
            err.port = to.port
          }
          throw err
        }
      }
    )
    return fd
  } catch (e) {
    await submit(
      (bb, t) => bb.close(FILE_KIND_FD, fd, t),
      () => undefined
    ).catch(() => undefined)
    throw e
  }
}
