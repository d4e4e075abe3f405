/**
 * `Server`: node:net's server on the ring. `listen()` makes the socket synchronously (socket,
 * bind, listen: cheap system calls), then arms one multishot accept; every accepted
 * descriptor becomes a `Socket` and a `'connection'`, in the batch it arrived with.
 * @module
 */
import type { LookupAddress } from 'node:dns'
import { EventEmitter } from 'node:events'
import { chmodSync, statSync } from 'node:fs'
import * as nodeNet from 'node:net'
import * as stream from 'node:stream'
import { ring } from '../binding.js'
import { EAFNOSUPPORT, EINVAL } from '../errno.js'
import { codedError, invalidArgType, invalidArgValue } from '../errors.js'
import { LISTEN_LOOKS_UP_ALL, PIPE_CHMOD_EXACT } from '../node-facts.js'
import {
  type Callback,
  isPipeName,
  lazyDns,
  normalizeArgs,
  toNumber,
  unixName,
  validateAbortSignal,
  validateNumber,
  validatePort
} from './args.js'
import { closeFd } from './connection.js'
import { type ListenAddress, Listener } from './listener.js'
import { withHostPort } from './net-errors.js'
import { type AcceptOptions, acceptOptions, HAS_BLOCK_LIST, kAccepted, kOnDestroy, Socket } from './socket.js'

/**
 * Whether this process is a `cluster` worker. node:cluster is loaded at the first `listen()`
 * that needs the answer, as node:net loads it, not with boros/net (a worker loaded it before
 * any user code anyway).
 */
function inClusterWorker(): boolean {
  return (require('node:cluster') as { isWorker: boolean }).isWorker
}

/**
 * The address `listen(port, host)` takes of the ones `host` resolved to (Node 22.8+): the first
 * that is not IPv6 link-local (`fe80::/10`, which cannot be listened on without a scope), else
 * the first (node:net's `filterOnlyValidAddress`).
 */
function listenAddress(addresses: readonly LookupAddress[]): LookupAddress {
  return addresses.find((a) => !isIpv6LinkLocal(a.address)) ?? (addresses[0] as LookupAddress)
}

/** Whether `ip` is an IPv6 link-local address (`fe80::/10`; a `%scope` suffix is allowed). */
function isIpv6LinkLocal(ip: string): boolean {
  if (nodeNet.isIPv6(ip) === false) return false
  // The first 16 bits are the first group, unless the address starts with '::' (zero).
  const first = ip.startsWith('::') ? 0 : Number.parseInt(ip.slice(0, ip.indexOf(':')), 16)
  return (first & 0xffc0) === 0xfe80
}

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
  /** Connections from addresses it blocks are closed at once (Node 22.13+ / 23.4+). */
  readonly blockList?: nodeNet.BlockList
}

/** Options of `server.listen()`. */
export interface ListenOptions {
  /** A port (0 or none: one the kernel picks). */
  readonly port?: number | string | null
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
  readonly highWaterMark: number
  /** Connections from addresses it blocks are closed as they are accepted. */
  blockList: nodeNet.BlockList | undefined
  #listener: Listener | undefined
  /** What `#acceptOptions()` gave last. */
  #accept: AcceptOptions | undefined
  /** The listening socket has `TCP_NODELAY` on: every socket accepted from it has it too. */
  #noDelayInherited = false
  #pipeName: string | undefined
  #connections = 0
  #referenced = true
  // Counts listen() and close() calls: a host's lookup that a later call overtook does not
  // listen (node:net's `_listeningId`: the last call wins).
  #listeningId = 0
  /** node:net's key of the listening address: `family:address:port` as asked (`-1:path:-1`). */
  _connectionKey: string | undefined
  /** Listening sockets being closed (the `'close'` waits for them). */
  #closingListeners = 0

  constructor(connectionListener?: (socket: Socket) => void)
  constructor(options?: ServerOptions, connectionListener?: (socket: Socket) => void)
  constructor(options?: ServerOptions | Callback, listener?: Callback) {
    super()
    if (typeof options === 'function') {
      listener = options
      options = {}
    } else if (options == null || typeof options === 'object') {
      options = options ?? {}
    } else {
      throw invalidArgType('options', 'of type object', options)
    }
    // Checked before the server exists, as node:net checks them (a bad value must not wait
    // for the first connection to fail).
    let hwm = options.highWaterMark
    if (options.keepAliveInitialDelay !== undefined)
      validateNumber(options.keepAliveInitialDelay, 'options.keepAliveInitialDelay')
    if (hwm !== undefined) {
      validateNumber(hwm, 'options.highWaterMark')
      if (hwm < 0) hwm = undefined
    }
    const blockList = (options as { blockList?: unknown }).blockList
    if (HAS_BLOCK_LIST && blockList) {
      if (!(nodeNet as any).BlockList.isBlockList(blockList))
        throw invalidArgType('options.blockList', 'an net.BlockList', blockList)
      this.blockList = blockList as nodeNet.BlockList
    }
    if (typeof listener === 'function') this.on('connection', listener)
    this.allowHalfOpen = Boolean(options.allowHalfOpen)
    this.pauseOnConnect = Boolean(options.pauseOnConnect)
    this.noDelay = Boolean(options.noDelay)
    this.keepAlive = Boolean(options.keepAlive)
    this.keepAliveInitialDelay = ~~((options.keepAliveInitialDelay ?? 0) / 1000) * 1000
    this.highWaterMark = hwm ?? (stream as any).getDefaultHighWaterMark?.(false) ?? 16384
  }

  /**
   * With `captureRejections`, a rejected async `'connection'` listener destroys that socket
   * (node:net's behaviour); any other event's rejection is an `'error'`.
   */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: string, sock: Socket): void {
    if (event === 'connection') sock.destroy(err)
    else this.emit('error', err)
  }

  /**
   * Listens: `listen(port[, host][, backlog][, cb])`, `listen(path[, backlog][, cb])`,
   * `listen(options[, cb])`, `listen([cb])` (a port the kernel picks). Errors (`EADDRINUSE`,
   * `EACCES`) are `'error'` events, as in node:net; bad arguments throw.
   */
  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this
  listen(port?: number, hostname?: string, listeningListener?: () => void): this
  listen(port?: number, backlog?: number, listeningListener?: () => void): this
  listen(port?: number, listeningListener?: () => void): this
  listen(path: string, backlog?: number, listeningListener?: () => void): this
  listen(path: string, listeningListener?: () => void): this
  listen(options: ListenOptions, listeningListener?: () => void): this
  listen(...args: unknown[]): this {
    const [options0, cb] = normalizeArgs(args)
    let options: Record<string, any> = options0
    if (this.#listener !== undefined) {
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.'
      )
    }
    if (options._handle || options.handle) {
      throw codedError(Error, 'ERR_INVALID_ARG_VALUE', 'boros/net: listening on an existing handle is not supported')
    }
    // As node:net: this call overtakes a lookup still running for an earlier one (even if it
    // throws below), and close() does too.
    const listeningId = ++this.#listeningId
    if (cb !== null) this.once('listening', cb)
    if (typeof options.fd === 'number' && options.fd >= 0) {
      // node:net listens on an inherited descriptor; boros/net cannot (an 'error', as node:net
      // emits for a descriptor it cannot listen on).
      const e = withHostPort(EINVAL, 'listen', null as unknown as string, undefined, true)
      process.nextTick(() => this.emit('error', e))
      return this
    }
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2])
    // listen(), listen(cb), listen(null), listen(undefined), listen({ port: undefined | null }):
    // a port the kernel picks (node:net writes it into the options too).
    if (
      args.length === 0 ||
      typeof args[0] === 'function' ||
      (typeof options.port === 'undefined' && 'port' in options) ||
      options.port === null
    ) {
      if (options === args[0]) options.port = 0
      else options = { ...options, port: 0 }
    }
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
      // In a cluster worker a listening socket cannot come from the primary (cluster shares
      // libuv handles, which a ring socket is not): each worker listens itself, with
      // SO_REUSEPORT unless told otherwise, and the kernel spreads connections (docs/net.md).
      const reusePort = options.reusePort === undefined ? inClusterWorker() : Boolean(options.reusePort)
      if (options.host) {
        const listen = (err: Error | null, ip: string): void => {
          if (listeningId !== this.#listeningId) return // closed, or listen() again, meanwhile
          if (err) this.emit('error', err)
          else this.#start({ host: ip, port, ipv6Only, reusePort }, backlog)
        }
        // The call node:net makes (a mocked or patched dns.lookup sees the same arguments):
        // Node 22.8+ asks for every address and skips IPv6 link-local ones (node-facts.ts).
        if (LISTEN_LOOKS_UP_ALL) {
          lazyDns().lookup(options.host, { all: true }, (err, addresses) => {
            if (err) listen(err, '')
            else listen(null, listenAddress(addresses).address)
          })
        } else lazyDns().lookup(options.host, (err, ip) => listen(err, ip))
      } else {
        this.#start({ host: '::', port, ipv6Only, reusePort }, backlog, true)
      }
      return this
    }
    if (options.path && isPipeName(options.path)) {
      const path: string = options.path
      if (path[0] === '\0' && (options.readableAll || options.writableAll)) {
        throw invalidArgValue(
          'options',
          options,
          'can not set readableAll or writableAllt to true when path is abstract unix socket'
        )
      }
      if (unixName(path) === undefined) {
        // Longer than sun_path: EINVAL on Node 23+ (Node 20 and 22 bind its first 108 bytes:
        // the Listener cuts it; docs/net.md "Versions").
        const e = withHostPort(EINVAL, 'listen', path, -1, true)
        process.nextTick(() => this.emit('error', e))
        return this
      }
      this.#pipeName = path
      this.#start({ path }, options.backlog || backlogFromArgs || 511)
      const listener = this.#listener as Listener | undefined
      if (listener === undefined) return this
      // readableAll / writableAll: uv_pipe_chmod. libuv 1.51+ sets the mode to exactly those
      // bits; older libuv (Node 20, 22 before 22.17, 24.0) adds them to the socket's
      // mode (node-facts.ts PIPE_CHMOD_EXACT).
      let mode = 0
      if (options.readableAll === true) mode |= 0o444
      if (options.writableAll === true) mode |= 0o222
      if (mode !== 0 && path[0] !== '\0') {
        // libuv chmods the name the socket was bound by (uv_pipe_getsockname): a path cut to
        // sun_path (Node 20 and 22) is chmodded by its cut name.
        const bound = unixName(path) as string
        try {
          const st = statSync(bound)
          if (PIPE_CHMOD_EXACT) chmodSync(bound, mode)
          else if ((st.mode & mode) !== mode) chmodSync(bound, (st.mode | mode) & 0o7777)
        } catch (e) {
          listener.close(() => {})
          this.#listener = undefined
          const err = e as NodeJS.ErrnoException
          throw Object.assign(new Error(`uv_pipe_chmod ${err.code}`), {
            errno: err.errno,
            code: err.code,
            syscall: 'uv_pipe_chmod'
          })
        }
      }
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
        address = { ...address, host: '0.0.0.0' }
        listener = this.#listen(address, backlog)
      }
      // node:net's key of the listening address ('6:::::0', '-1:/path:-1').
      this._connectionKey =
        'path' in address ? `-1:${address.path}:-1` : `${nodeNet.isIP(address.host)}:${address.host}:${address.port}`
    } catch (e) {
      process.nextTick(() => this.emit('error', e))
      return
    }
    this.#listener = listener
    // A server listening with noDelay sets TCP_NODELAY once, on its listening socket: Linux
    // copies it to every socket accepted from it, so that an accept needs no setsockopt(2) for
    // it (1-2 us of an accept; docs/net.md, "An accept burst, measured"). node:net reads
    // noDelay at each connection: one the user turns off later is turned off per socket.
    this.#noDelayInherited = this.noDelay && !('path' in address) && ring().setNoDelay(listener.fd, true) === 0
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
    if (this.blockList !== undefined) {
      const peer = ring().socketAddress(fd, true)
      const type = peer !== null ? nodeNet.isIP(peer.address) : 0
      if (type !== 0 && this.blockList.check(peer!.address, `ipv${type}` as 'ipv4' | 'ipv6')) {
        closeFd(fd)
        return
      }
    }
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
    const socket = new Socket(this.#acceptOptions(), kAccepted, fd, this.pauseOnConnect)
    this.#connections++
    socket.server = this
    socket[kOnDestroy] = this.#onSocketDestroy
    this.emit('connection', socket)
  }

  /**
   * The options of every socket this server accepts: one object while the server's settings
   * stay as they are (node:net reads them at each connection: a change made after
   * `createServer()` still applies to the next one).
   */
  #acceptOptions(): AcceptOptions {
    const o = this.#accept
    if (
      o !== undefined &&
      o.allowHalfOpen === this.allowHalfOpen &&
      o.noDelay === this.noDelay &&
      o.noDelayInherited === this.#noDelayInherited &&
      o.keepAlive === this.keepAlive &&
      o.keepAliveInitialDelay === this.keepAliveInitialDelay &&
      o.highWaterMark === this.highWaterMark
    )
      return o
    this.#accept = acceptOptions({
      allowHalfOpen: this.allowHalfOpen,
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      keepAliveInitialDelay: this.keepAliveInitialDelay,
      highWaterMark: this.highWaterMark,
      noDelayInherited: this.#noDelayInherited
    })
    return this.#accept
  }

  /** One function for every socket's destroy hook (not a closure per socket). */
  #onSocketDestroy = (): void => {
    this.#connections--
    this.#emitCloseIfDrained()
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
    this.#listeningId++
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
