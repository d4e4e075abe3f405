/**
 * The low-level socket API: `listen()` (an async iterator of connections), `dial()`, and
 * `Conn` (`read()`, `for await`, `write`, `writev`, `shutdown`, `close`), every call taking
 * `{ signal, timeout }`. No stream machinery: a `Conn` keeps the chunks the ring delivered
 * (views of each batch's Buffer) until `read()` takes them, and stops receiving in the kernel
 * while more than `highWaterMark` bytes wait. On the fallback backend the same API runs on
 * node:net sockets.
 * @module
 */
import * as nodeNet from 'node:net'
import { usesRing } from '../binding.js'
import { EAFNOSUPPORT, ETIMEDOUT } from '../errno.js'
import { AbortError } from '../errors.js'
import { validatePort } from './args.js'
import { NodeTransport, RingTransport, type Transport } from './conn-transport.js'
import { connectFd } from './connect-fd.js'
import { closeFd } from './connection.js'
import { Listener } from './listener.js'
import { withHostPort } from './net-errors.js'

/** `signal` cancels the call (`AbortError`); `timeout` (ms) fails it with `ETIMEDOUT`. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined
  readonly timeout?: number | undefined
}

function timedOut(syscall: string): Error {
  return Object.assign(new Error(`${syscall} ETIMEDOUT`), { code: 'ETIMEDOUT', errno: -110, syscall })
}

/**
 * Runs `start(settle)` with `opts` applied: on abort or timeout, `cancel(err)` runs and the
 * promise rejects with `err` (unless it already settled).
 */
function guarded<T>(
  opts: CallOptions | undefined,
  syscall: string,
  start: (resolve: (v: T) => void, reject: (e: Error) => void) => void,
  cancel: (err: Error) => void
): Promise<T> {
  const signal = opts?.signal
  const timeout = opts?.timeout
  if (signal == null && timeout === undefined) return new Promise<T>(start)
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(undefined, { cause: signal.reason }))
      return
    }
    let done = false
    let timer: NodeJS.Timeout | undefined
    const finish = (): boolean => {
      if (done) return false
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      return true
    }
    const fail = (err: Error): void => {
      if (!finish()) return
      cancel(err)
      reject(err)
    }
    const onAbort = (): void => fail(new AbortError(undefined, { cause: signal!.reason }))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeout !== undefined) timer = setTimeout(() => fail(timedOut(syscall)), timeout)
    start(
      (v) => finish() && resolve(v),
      (e) => finish() && reject(e)
    )
  })
}

/** Options of a {@link Conn}. */
export interface ConnOptions {
  /** Bytes received and not yet read above which receiving stops in the kernel (default 256 KiB). */
  readonly highWaterMark?: number
}

/**
 * A connected stream socket. `read()` resolves with the next chunk (a view of the batch Buffer
 * it arrived in; never reused or overwritten, so it may be kept) or null at the end.
 */
export class Conn implements AsyncIterable<Buffer> {
  readonly #t: Transport
  readonly #hwm: number
  #chunks: Buffer[] = []
  #buffered = 0
  #ended = false
  #error: Error | undefined
  #closed: Promise<void> | undefined
  #waiter: { resolve: (b: Buffer | null) => void; reject: (e: Error) => void } | undefined

  /** @internal */
  constructor(t: Transport, options: ConnOptions = {}) {
    this.#t = t
    this.#hwm = options.highWaterMark ?? 256 * 1024
    t.onData = (chunk) => {
      const w = this.#waiter
      if (w !== undefined) {
        this.#waiter = undefined
        w.resolve(chunk)
        return
      }
      this.#chunks.push(chunk)
      this.#buffered += chunk.byteLength
      if (this.#buffered > this.#hwm) t.pause()
    }
    t.onEnd = () => {
      this.#ended = true
      const w = this.#waiter
      this.#waiter = undefined
      w?.resolve(null)
    }
    t.onError = (err) => {
      this.#error = err
      const w = this.#waiter
      this.#waiter = undefined
      w?.reject(err)
    }
    t.resume()
  }

  /** Bytes received so far (read or waiting). */
  get bytesRead(): number {
    return this.#t.bytesRead
  }

  /** Bytes the kernel took. */
  get bytesWritten(): number {
    return this.#t.bytesWritten
  }

  /** Bytes received and not yet read. */
  get readableLength(): number {
    return this.#buffered
  }

  /** The local address. */
  address(): { address: string; family: string; port: number } | null {
    return this.#t.address(false)
  }

  /** The peer's address. */
  remoteAddress(): { address: string; family: string; port: number } | null {
    return this.#t.address(true)
  }

  /** The next chunk received, or null once the peer ended its side. Rejects on a receive error. */
  read(opts?: CallOptions): Promise<Buffer | null> {
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!
      this.#buffered -= chunk.byteLength
      if (this.#buffered <= this.#hwm && !this.#ended && this.#closed === undefined) this.#t.resume()
      return Promise.resolve(chunk)
    }
    if (this.#error !== undefined) return Promise.reject(this.#error)
    if (this.#ended || this.#closed !== undefined) return Promise.resolve(null)
    if (this.#waiter !== undefined)
      return Promise.reject(new Error('boros/net: a read() is already waiting on this connection'))
    return guarded<Buffer | null>(
      opts,
      'read',
      (resolve, reject) => {
        this.#waiter = { resolve, reject }
      },
      // The read is given up; nothing received is lost (it waits for the next read()).
      () => {
        this.#waiter = undefined
      }
    )
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const chunk = await this.read()
      if (chunk === null) return
      yield chunk
    }
  }

  /**
   * Sends all of `data`; resolves once the kernel took it. Writes made while another is in
   * flight go out together (one `sendmsg`). A `signal`/`timeout` that fires closes the
   * connection (a half-sent stream cannot go on).
   */
  write(data: Buffer | Uint8Array | string, opts?: CallOptions): Promise<void> {
    const buf =
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    return this.writev([buf], opts)
  }

  /** Sends `chunks` in order (one `sendmsg`); as `write()`. */
  writev(chunks: readonly (Buffer | Uint8Array)[], opts?: CallOptions): Promise<void> {
    const bufs = chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength)))
    return guarded<void>(
      opts,
      'write',
      (resolve, reject) => this.#t.writev(bufs, (err) => (err ? reject(err) : resolve())),
      () => void this.close()
    )
  }

  /** Ends our side (a FIN) once everything written is sent. */
  shutdown(opts?: CallOptions): Promise<void> {
    return guarded<void>(
      opts,
      'shutdown',
      (resolve, reject) => this.#t.end((err) => (err ? reject(err) : resolve())),
      () => void this.close()
    )
  }

  /** Closes the socket (a pending `read()` resolves with null). */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed
    this.#closed = new Promise<void>((resolve) => this.#t.close(resolve))
    const w = this.#waiter
    this.#waiter = undefined
    w?.resolve(null)
    return this.#closed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** Where to listen. */
export interface ConnListenOptions extends CallOptions {
  /** Port (0: the kernel picks one). */
  readonly port?: number
  /** IP address (default `::`, or `0.0.0.0` without IPv6). No DNS here. */
  readonly host?: string
  /** A Unix socket path instead. */
  readonly path?: string
  readonly backlog?: number
  readonly reusePort?: boolean
  readonly ipv6Only?: boolean
  /** The `highWaterMark` of every accepted `Conn`. */
  readonly highWaterMark?: number
}

/** A listening socket: `for await (const conn of listener)`, or `accept()`. */
export class ConnListener implements AsyncIterable<Conn> {
  readonly #close: () => Promise<void>
  readonly #addr: () => unknown
  #queue: Conn[] = []
  #waiters: Array<{ resolve: (c: Conn | null) => void; reject: (e: Error) => void }> = []
  #closed = false
  #closing: Promise<void> | undefined

  /** @internal */
  constructor(close: () => Promise<void>, address: () => unknown) {
    this.#close = close
    this.#addr = address
  }

  /** @internal */
  push(conn: Conn): void {
    if (this.#closed) {
      void conn.close()
      return
    }
    const w = this.#waiters.shift()
    if (w !== undefined) w.resolve(conn)
    else this.#queue.push(conn)
  }

  /** The bound address (`{ address, family, port }`, or the path). */
  address(): { address: string; family: string; port: number } | string | null {
    return this.#addr() as { address: string; family: string; port: number } | string | null
  }

  /** The next connection, or null once the listener is closed. */
  accept(opts?: CallOptions): Promise<Conn | null> {
    const c = this.#queue.shift()
    if (c !== undefined) return Promise.resolve(c)
    if (this.#closed) return Promise.resolve(null)
    let entry: { resolve: (c: Conn | null) => void; reject: (e: Error) => void } | undefined
    return guarded<Conn | null>(
      opts,
      'accept',
      (resolve, reject) => {
        entry = { resolve, reject }
        this.#waiters.push(entry)
      },
      () => {
        this.#waiters = this.#waiters.filter((w) => w !== entry)
      }
    )
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Conn, void, undefined> {
    for (;;) {
      const conn = await this.accept()
      if (conn === null) return
      yield conn
    }
  }

  /** Stops accepting and closes the socket; connections not yet taken are closed. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    for (const w of this.#waiters.splice(0)) w.resolve(null)
    for (const c of this.#queue.splice(0)) void c.close()
    this.#closing = this.#close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

/** Listens (TCP or Unix); rejects with node:net's error (`EADDRINUSE`...). */
export async function listen(options: ConnListenOptions): Promise<ConnListener> {
  const signal = options.signal
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
  const hwm = options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }
  const backlog = options.backlog ?? 511
  let listener: ConnListener
  if (usesRing()) {
    let l: Listener | undefined
    const events = { onConnection: (fd: number) => listener.push(new Conn(new RingTransport(fd), hwm)) }
    if (options.path !== undefined) l = new Listener({ path: options.path }, backlog, events)
    else {
      const port = validatePort(options.port ?? 0, 'options.port')
      const common = { port, ipv6Only: Boolean(options.ipv6Only), reusePort: Boolean(options.reusePort) }
      try {
        l = new Listener({ host: options.host ?? '::', ...common }, backlog, events)
      } catch (e) {
        if (options.host !== undefined || (e as { errno?: number }).errno !== EAFNOSUPPORT) throw e
        l = new Listener({ host: '0.0.0.0', ...common }, backlog, events)
      }
    }
    const ring = l
    listener = new ConnListener(
      () => new Promise<void>((resolve) => ring.close(resolve)),
      () => (options.path !== undefined ? options.path : ring.address())
    )
  } else {
    const server = nodeNet.createServer({ pauseOnConnect: true }, (s) =>
      listener.push(new Conn(new NodeTransport(s), hwm))
    )
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      const o: nodeNet.ListenOptions = { backlog }
      if (options.path !== undefined) o.path = options.path
      else {
        o.port = validatePort(options.port ?? 0, 'options.port')
        if (options.host !== undefined) o.host = options.host
        if (options.ipv6Only) o.ipv6Only = true
        if (options.reusePort) (o as Record<string, unknown>).reusePort = true
      }
      server.listen(o, () => {
        server.off('error', reject)
        resolve()
      })
    })
    listener = new ConnListener(
      // Resolves once the listening socket is closed, as the ring listener's close does: not
      // when every accepted connection is closed too (server.close's callback waits for those).
      () =>
        new Promise<void>((resolve) => {
          server.close()
          setImmediate(resolve)
        }),
      () => server.address()
    )
  }
  signal?.addEventListener('abort', () => void listener.close(), { once: true })
  return listener
}

/** Where to connect. */
export interface DialOptions extends CallOptions {
  /** An IP address (no DNS here; use `dns.lookup` first). */
  readonly host?: string
  readonly port?: number
  /** A Unix socket path instead. */
  readonly path?: string
  readonly highWaterMark?: number
}

/**
 * Connects; resolves with a `Conn`. Rejects with node:net's error (`ECONNREFUSED`...),
 * `AbortError` (the connect is cancelled in the kernel), or `ETIMEDOUT` after `timeout` ms.
 */
export async function dial(options: DialOptions): Promise<Conn> {
  const hwm = options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }
  let target: { path: string } | { host: string; port: number; family: 4 | 6 }
  if (options.path !== undefined) target = { path: options.path }
  else {
    const host = options.host ?? '127.0.0.1'
    const family = nodeNet.isIP(host)
    if (family === 0)
      throw Object.assign(new TypeError(`Invalid IP address: ${host}`), { code: 'ERR_INVALID_IP_ADDRESS' })
    target = { host, port: validatePort(options.port, 'options.port'), family: family as 4 | 6 }
  }
  const inner = new AbortController()
  const t = target
  const timeoutError = (): Error =>
    'path' in t ? withHostPort(ETIMEDOUT, 'connect', t.path) : withHostPort(ETIMEDOUT, 'connect', t.host, t.port)
  if (usesRing()) {
    const fd = await guarded<number>(
      options,
      'connect',
      (resolve, reject) =>
        connectFd(t, undefined, inner.signal).then((fd) => {
          // Connected as the call gave up: nobody will use it.
          if (inner.signal.aborted) closeFd(fd)
          else resolve(fd)
        }, reject),
      () => inner.abort()
    ).catch((e: Error) => {
      throw e.message === 'connect ETIMEDOUT' ? timeoutError() : e
    })
    return new Conn(new RingTransport(fd), hwm)
  }
  const s = await guarded<nodeNet.Socket>(
    options,
    'connect',
    (resolve, reject) => {
      const sock = 'path' in t ? nodeNet.connect(t.path) : nodeNet.connect(t.port, t.host)
      sock.once('error', reject)
      sock.once('connect', () => {
        sock.off('error', reject)
        resolve(sock)
      })
      inner.signal.addEventListener('abort', () => sock.destroy(), { once: true })
    },
    () => inner.abort()
  ).catch((e: Error) => {
    throw e.message === 'connect ETIMEDOUT' ? timeoutError() : e
  })
  return new Conn(new NodeTransport(s), hwm)
}
