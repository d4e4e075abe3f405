/**
 * `Server`: node:net's server on the ring. `listen()` makes the socket synchronously (socket,
 * bind, listen: cheap system calls), then arms one multishot accept; every accepted
 * descriptor becomes a `Socket` and a `'connection'`, in the batch it arrived with.
 * @module
 */
import * as dns from 'node:dns'
import { EventEmitter } from 'node:events'
import { ring } from '../binding.js'
import { codedError, invalidArgValue } from '../errors.js'
import { isPipeName, normalizeArgs, toNumber, validateAbortSignal, validatePort, type Callback } from './args.js'
import { Listener, type ListenAddress, closeFd } from './connection.js'
import { kAccepted, kOnDestroy, Socket } from './socket.js'
import { EAFNOSUPPORT } from '../errno.js'

/** Options of `createServer()`. */
export interface ServerOptions {
  /** Accepted sockets keep their writable side open after the peer's end. */
  readonly allowHalfOpen?: boolean
  /** Accepted sockets do not start reading until `resume()` / a `'data'` listener. */
  readonly pauseOnConnect?: boolean
  /** `TCP_NODELAY` on accepted sockets. */
  readonly noDelay?: boolean
  /** `SO_KEEPALIVE` on accepted sockets. */
  readonly keepAlive?: boolean
  /** Milliseconds before the first keep-alive probe. */
  readonly keepAliveInitialDelay?: number
  readonly highWaterMark?: number
}

/** Options of `server.listen()`. */
export interface ListenOptions {
  readonly port?: number | string
  readonly host?: string
  readonly path?: string
  readonly backlog?: number
  readonly exclusive?: boolean
  readonly ipv6Only?: boolean
  readonly reusePort?: boolean
  readonly signal?: AbortSignal
  readonly readableAll?: boolean
  readonly writableAll?: boolean
}

/** node:net's `Server`, on io_uring. */
export class Server extends EventEmitter {
  /** Refuse connections beyond this many (they are closed at once; `'drop'` says so). */
  maxConnections: number | undefined
  readonly allowHalfOpen: boolean
  readonly pauseOnConnect: boolean
  readonly noDelay: boolean
  readonly keepAlive: boolean
  readonly keepAliveInitialDelay: number
  readonly highWaterMark: number | undefined
  #listener: Listener | undefined
  #pipeName: string | undefined
  #connections = 0
  #referenced = true
  #starting = false
  /** Listening sockets being closed (the `'close'` waits for them). */
  #closingListeners = 0

  constructor(options?: ServerOptions | Callback, listener?: Callback) {
    super()
    if (typeof options === 'function') {
      listener = options
      options = {}
    } else if (options == null || typeof options === 'object') {
      options = options ?? {}
    } else {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object.`)
    }
    if (typeof listener === 'function') this.on('connection', listener)
    this.allowHalfOpen = Boolean(options.allowHalfOpen)
    this.pauseOnConnect = Boolean(options.pauseOnConnect)
    this.noDelay = Boolean(options.noDelay)
    this.keepAlive = Boolean(options.keepAlive)
    this.keepAliveInitialDelay = ~~((options.keepAliveInitialDelay ?? 0) / 1000) * 1000
    this.highWaterMark = options.highWaterMark
  }

  /**
   * Listens: `listen(port[, host][, backlog][, cb])`, `listen(path[, backlog][, cb])`,
   * `listen(options[, cb])`, `listen([cb])` (a port the kernel picks). Errors (`EADDRINUSE`,
   * `EACCES`) are `'error'` events, as in node:net; bad arguments throw.
   */
  listen(...args: unknown[]): this {
    const [options0, cb] = normalizeArgs(args)
    let options: Record<string, any> = options0
    if (this.#listener !== undefined || this.#starting) {
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.'
      )
    }
    if (options._handle || options.handle || options.fd !== undefined) {
      throw codedError(
        Error,
        'ERR_INVALID_ARG_VALUE',
        'boros/net: listening on an existing handle or fd is not supported'
      )
    }
    if (cb !== null) this.once('listening', cb)
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2])
    if (args.length === 0 || typeof args[0] === 'function') options = { ...options, port: 0 }
    if (options.signal !== undefined) {
      validateAbortSignal(options.signal, 'options.signal')
      const signal = options.signal as AbortSignal
      if (signal.aborted) {
        process.nextTick(() => this.close())
      } else signal.addEventListener('abort', () => this.close(), { once: true })
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      const port = validatePort(options.port, 'options.port')
      const backlog = options.backlog || backlogFromArgs || 511
      const ipv6Only = Boolean(options.ipv6Only)
      const reusePort = Boolean(options.reusePort)
      if (options.host) {
        this.#starting = true
        dns.lookup(options.host, (err, ip) => {
          if (!this.#starting) return // closed while the name was looked up
          this.#starting = false
          if (err) this.emit('error', err)
          else this.#start({ host: ip, port, ipv6Only, reusePort }, backlog)
        })
      } else {
        this.#start({ host: '::', port, ipv6Only, reusePort }, backlog, true)
      }
      return this
    }
    if (options.path && isPipeName(options.path)) {
      this.#pipeName = options.path
      this.#start({ path: options.path }, options.backlog || backlogFromArgs || 511)
      return this
    }
    if (!('port' in options || 'path' in options)) {
      throw invalidArgValue('options', options, 'must have the property "port" or "path"')
    }
    throw invalidArgValue('options', options)
  }

  #start(address: ListenAddress, backlog: number, anyAddress = false): void {
    let listener: Listener
    try {
      try {
        listener = this.#listen(address, backlog)
      } catch (e) {
        // No IPv6 here: the unspecified address is IPv4's, as libuv's fallback.
        if (!anyAddress || (e as { errno?: number }).errno !== EAFNOSUPPORT) throw e
        listener = this.#listen({ ...address, host: '0.0.0.0' }, backlog)
      }
    } catch (e) {
      process.nextTick(() => this.emit('error', e))
      return
    }
    this.#listener = listener
    if (!this.#referenced) listener.setReferenced(false)
    process.nextTick(() => {
      if (this.#listener !== undefined) this.emit('listening')
    })
  }

  #listen(address: ListenAddress, backlog: number): Listener {
    return new Listener(address, backlog, {
      onConnection: (fd) => this.#onConnection(fd),
      onError: (err) => this.emit('error', err)
    })
  }

  #onConnection(fd: number): void {
    if (this.maxConnections !== undefined && this.#connections >= this.maxConnections) {
      const b = ring()
      const local = b.socketAddress(fd, false)
      const peer = b.socketAddress(fd, true)
      closeFd(fd)
      this.emit('drop', {
        localAddress: local?.address,
        localPort: local?.port,
        localFamily: local?.family,
        remoteAddress: peer?.address,
        remotePort: peer?.port,
        remoteFamily: peer?.family
      })
      return
    }
    const opts: Record<string | symbol, unknown> = {
      allowHalfOpen: this.allowHalfOpen,
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      keepAliveInitialDelay: this.keepAliveInitialDelay,
      [kAccepted]: [fd, this.pauseOnConnect]
    }
    if (this.highWaterMark !== undefined) opts.highWaterMark = this.highWaterMark
    const socket = new Socket(opts)
    this.#connections++
    socket.server = this
    socket[kOnDestroy] = () => {
      this.#connections--
      this.#emitCloseIfDrained()
    }
    this.emit('connection', socket)
  }

  #emitCloseIfDrained(): void {
    if (this.#listener !== undefined || this.#connections > 0 || this.#closingListeners > 0) return
    process.nextTick(() => this.emit('close'))
  }

  /**
   * The bound address: `{ address, family, port }`, the path for a Unix socket, or null when
   * not listening.
   */
  address(): { address: string; family: string; port: number } | string | null {
    if (this.#pipeName !== undefined && this.#listener !== undefined) return this.#pipeName
    return this.#listener?.address() ?? null
  }

  /**
   * Stops accepting; `'close'` (and `cb`) once every connection is closed too. Open
   * connections are not closed by it.
   */
  close(cb?: (err?: Error) => void): this {
    if (typeof cb === 'function') {
      if (this.#listener === undefined) {
        this.once('close', () => cb(codedError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')))
      } else this.once('close', cb)
    }
    this.#starting = false
    if (this.#listener !== undefined) {
      this.#closingListeners++
      this.#listener.close(() => {
        this.#closingListeners--
        this.#emitCloseIfDrained()
      })
      this.#listener = undefined
    }
    this.#emitCloseIfDrained()
    return this
  }

  /** `cb(null, n)` with the number of open connections. */
  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.#connections)
    return this
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#listener !== undefined
  }

  /** The armed accept keeps the process alive (the default). */
  ref(): this {
    this.#referenced = true
    this.#listener?.setReferenced(true)
    return this
  }

  /** Lets the process exit while the server only waits for connections. */
  unref(): this {
    this.#referenced = false
    this.#listener?.setReferenced(false)
    return this
  }

  /** `close()` as a promise (nothing when not listening). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#listener === undefined) return
    await new Promise<void>((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())))
  }
}
