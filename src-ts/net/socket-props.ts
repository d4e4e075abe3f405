/**
 * What node:net's socket reports and the options it keeps for its descriptor (split out of
 * net/socket.ts, issue 19): addresses, byte counters, `readyState`/`pending`/`bufferSize`,
 * `TCP_NODELAY`, keep-alive, type of service, `ref()`/`unref()`, and `server`. `Socket` extends
 * {@link SocketProps}; the stream (receiving, writing, connect, destroy) stays in socket.ts,
 * which lends the connection through `[kConn]()` and tells this layer when a descriptor is
 * attached, closed or connected again. Getters stay on the prototype chain, and read on
 * `Socket.prototype` itself they give what node:net's give (`undefined`, `'closed'`, `true`).
 * @module
 */
import * as nodeNet from 'node:net'
import { Duplex } from 'node:stream'
import { ring } from '../binding.js'
import { invalidArgType } from '../errors.js'
import { validateInt32 } from './args.js'
import type { Connection } from './connection.js'
import { netErrno } from './net-errors.js'
import { type Address, type KeepAlive, keepAliveArgs, type SocketOptions, setKeepAlive } from './socket-compat.js'

/** The socket's connection, if it has one (`Socket` implements it). */
export const kConn: unique symbol = Symbol('boros.net.conn')
/** The options of `new Socket()` this layer keeps (`noDelay`, `keepAlive`). */
export const kInitProps: unique symbol = Symbol('boros.net.initProps')
/** A descriptor was attached: the options chosen so far go to it. */
export const kAttached: unique symbol = Symbol('boros.net.attached')
/** The connection is closing: the counters and the peer's address are kept, the local one goes. */
export const kClosing: unique symbol = Symbol('boros.net.closing')
/** A closed socket connects again: addresses and counters start over. */
export const kReopen: unique symbol = Symbol('boros.net.reopen')
/** Bytes of the write waiting for the connect (`undefined`: none). */
export const kHeld: unique symbol = Symbol('boros.net.held')

/**
 * Whether `server` is a node:http or node:https Server. Both modules are loaded only here, for an
 * object that has the field both Servers set (`httpAllowHalfOpen`), i.e. one whose module is
 * loaded already: a process that only uses boros/net never loads them (~2 MiB of RSS).
 */
function isHttpServer(server: unknown): boolean {
  if (server === null || typeof server !== 'object' || !('httpAllowHalfOpen' in server)) return false
  if (server instanceof (require('node:http') as typeof import('node:http')).Server) return true
  return server instanceof (require('node:https') as typeof import('node:https')).Server
}

/**
 * What a socket keeps only once asked: its addresses (read), keep-alive and type of service
 * (chosen), the write held for the connect. One object made on first use, not five fields on
 * every socket (issue 21, thirteenth round).
 */
class PropsRare {
  keepAlive: KeepAlive | undefined = undefined
  peer: Address | undefined = undefined
  local: Address | undefined = undefined
  tos: number | undefined = undefined
  /** Bytes of the write waiting for the connect (counted by `bytesWritten`, as node:net does). */
  held: number | undefined = undefined
}

/** node:net's socket surface over the descriptor; `Socket` is the stream on top. */
export abstract class SocketProps extends Duplex {
  /** Whether a connect is under way (`Socket`'s field). */
  declare connecting: boolean
  #referenced = true
  #noDelay: boolean | undefined
  #bytesRead = 0
  #bytesWritten = 0
  #server: unknown = null
  /** See {@link PropsRare}: made by `#more()`. Every instance has the field (`#rare in this`). */
  #rare: PropsRare | undefined

  #more(): PropsRare {
    if (this.#rare === undefined) this.#rare = new PropsRare()
    return this.#rare
  }

  /** @internal */
  abstract [kConn](): Connection | undefined

  /** @internal */
  [kInitProps](options: SocketOptions): void {
    if (options.noDelay) this.#noDelay = true
    if (options.keepAlive)
      this.#more().keepAlive = [true, ~~((options.keepAliveInitialDelay ?? 0) / 1000), undefined, undefined]
  }

  /**
   * @internal `noDelayInherited`: the descriptor has `TCP_NODELAY` on already (see
   * `AcceptOptions`): set only if the socket wants it off (node:net leaves the kernel's default,
   * off, unless asked).
   */
  [kAttached](conn: Connection, noDelayInherited = false): void {
    const fd = conn.fd
    if (!this.#referenced) conn.setReferenced(false)
    const b = ring()
    if (this.#noDelay !== undefined) {
      if (!(noDelayInherited && this.#noDelay)) b.setNoDelay(fd, this.#noDelay)
    } else if (noDelayInherited) b.setNoDelay(fd, false)
    const rare = this.#rare
    if (rare === undefined) return
    if (rare.keepAlive !== undefined) setKeepAlive(fd, rare.keepAlive)
    if (rare.tos !== undefined) {
      const r = b.setTypeOfService(fd, rare.tos)
      if (r < 0) process.nextTick(() => this.emit('error', netErrno(r, 'setTypeOfService')))
    }
  }

  /** @internal */
  [kClosing](conn: Connection): void {
    this.#bytesRead = conn.bytesRead
    this.#bytesWritten = conn.bytesWritten
    // As node:net: the peer's address stays known after the close if it was read before (its
    // `_peername` cache), else it is gone with the descriptor; the local one goes. (It was
    // looked up here for every close: a getpeername(2) per close, failing when the peer had
    // closed first, and an address node:net does not give after a close of ours.)
    if (this.#rare !== undefined) this.#rare.local = undefined
  }

  /** @internal */
  [kReopen](): void {
    if (this.#rare !== undefined) {
      this.#rare.peer = undefined
      this.#rare.local = undefined
    }
    this.#bytesRead = 0
    this.#bytesWritten = 0
  }

  /** @internal */
  [kHeld](bytes: number | undefined): void {
    if (bytes !== undefined || this.#rare !== undefined) this.#more().held = bytes
  }

  /** The server that accepted this socket, if any (node:http sets its own when it adopts the socket). */
  get server(): unknown {
    return this.#server
  }

  /**
   * node:http's connection listener sets `socket.server = httpServer` first thing when it adopts
   * a socket (`httpServer.emit('connection', socket)`). node:http gives the sockets it accepts
   * itself `TCP_NODELAY` (its `noDelay` option, default true): without it every keep-alive
   * response waits for the client's delayed ACK (~40 ms). A socket handed over gets the same
   * default here, unless `noDelay` was already chosen (server option or `setNoDelay()`).
   */
  set server(server: unknown) {
    this.#server = server
    if (this.#noDelay === undefined && isHttpServer(server)) {
      this.setNoDelay((server as { noDelay?: boolean }).noDelay !== false)
    }
  }

  /** @internal `setTypeOfService` (installed only where the running Node has it: 24+). */
  _setTypeOfService(tos: number): this {
    if (Number.isNaN(tos)) throw invalidArgType('tos', 'of type number', tos)
    validateInt32(tos, 'tos', 0, 255)
    const conn = this[kConn]()
    const rare = this.#more()
    if (conn === undefined || conn.fd < 0) {
      rare.tos = tos
      return this
    }
    if (tos !== rare.tos) {
      rare.tos = tos
      const r = ring().setTypeOfService(conn.fd, tos)
      if (r < 0) throw netErrno(r, 'setTypeOfService')
    }
    return this
  }

  /** @internal `getTypeOfService` (Node 24+). */
  _getTypeOfService(): number {
    const conn = this[kConn]()
    if (conn === undefined || conn.fd < 0) return this.#rare?.tos ?? 0
    const r = ring().getTypeOfService(conn.fd)
    if (r < 0) throw netErrno(r, 'getTypeOfService')
    return r
  }

  /** `TCP_NODELAY` (default true). */
  setNoDelay(noDelay = true): this {
    this.#noDelay = Boolean(noDelay)
    const conn = this[kConn]()
    if (conn !== undefined && conn.fd >= 0) ring().setNoDelay(conn.fd, this.#noDelay)
    return this
  }

  /**
   * `SO_KEEPALIVE`, first probe after `initialDelay` ms; on Node releases whose node:net takes
   * them, then every `interval` ms, `count` probes, and the `{ enable, initialDelay, interval,
   * count }` form.
   */
  setKeepAlive(enable?: boolean, initialDelay?: number): this
  setKeepAlive(...args: unknown[]): this {
    const ka = keepAliveArgs(args)
    this.#more().keepAlive = ka
    const conn = this[kConn]()
    if (conn !== undefined && conn.fd >= 0) setKeepAlive(conn.fd, ka)
    return this
  }

  /** Keeps the process alive while the socket waits (the default). */
  ref(): this {
    this.#referenced = true
    this[kConn]()?.setReferenced(true)
    return this
  }

  /** Lets the process exit while the socket only waits for data. */
  unref(): this {
    this.#referenced = false
    this[kConn]()?.setReferenced(false)
    return this
  }

  #address(peer: boolean): Address {
    const conn = this[kConn]()
    if (conn === undefined || conn.fd < 0 || this.connecting) return {}
    const a = ring().socketAddress(conn.fd, peer)
    if (a === null || a.family === 'unix') return {}
    return { address: a.address, family: a.family, port: a.port }
  }

  #peerAddress(): Address {
    const peer = this.#rare?.peer
    if (peer === undefined || peer.address === undefined) {
      const a = this.#address(true)
      if (a.address !== undefined || this[kConn]() === undefined) this.#more().peer = a
      return a
    }
    return peer
  }

  #localAddress(): Address {
    if (this[kConn]() === undefined) return {}
    const local = this.#rare?.local
    if (local === undefined || local.address === undefined) {
      const a = this.#address(false)
      if (a.address !== undefined || this[kConn]() === undefined) this.#more().local = a
      return a
    }
    return local
  }

  /** The local address: `{ address, family, port }` (`{}` for Unix sockets). */
  address(): Address {
    return this.#localAddress()
  }

  // `#rare in this`: false on the prototype itself, whose getters give node:net's undefined.
  get remoteAddress(): string | undefined {
    if (!(#rare in this)) return undefined
    return this.#peerAddress().address
  }
  get remoteFamily(): string | undefined {
    if (!(#rare in this)) return undefined
    return this.#peerAddress().family
  }
  get remotePort(): number | undefined {
    if (!(#rare in this)) return undefined
    return this.#peerAddress().port
  }
  get localAddress(): string | undefined {
    if (!(#rare in this)) return undefined
    return this.#localAddress().address
  }
  get localPort(): number | undefined {
    if (!(#rare in this)) return undefined
    return this.#localAddress().port
  }
  get localFamily(): string | undefined {
    if (!(#rare in this)) return undefined
    return this.#localAddress().family
  }

  /** Bytes received. */
  get bytesRead(): number | undefined {
    if (!(#rare in this)) return undefined
    return this[kConn]()?.bytesRead ?? this.#bytesRead
  }

  /** Bytes written: taken by the kernel, or queued to be (writes made while connecting too). */
  get bytesWritten(): number | undefined {
    if (!(#rare in this)) return undefined
    const conn = this[kConn]()
    let bytes = conn === undefined ? this.#bytesWritten : conn.bytesWritten + conn.pendingBytes
    for (const el of (this as any).writableBuffer ?? []) {
      bytes += Buffer.isBuffer(el.chunk) ? el.chunk.length : Buffer.byteLength(el.chunk, el.encoding)
    }
    // The write held in _write while connecting is in no buffer above (node:net counts it).
    const held = this.#rare?.held
    if (held !== undefined) bytes += held
    return bytes
  }

  /** `'opening'`, `'open'`, `'readOnly'`, `'writeOnly'` or `'closed'`. */
  get readyState(): string {
    if (!(#rare in this)) return 'closed'
    if (this.connecting) return 'opening'
    if (this.readable && this.writable) return 'open'
    if (this.readable && !this.writable) return 'readOnly'
    if (!this.readable && this.writable) return 'writeOnly'
    return 'closed'
  }

  /** Whether the socket is not connected yet. */
  get pending(): boolean {
    if (!(#rare in this)) return true
    return this[kConn]() === undefined || this.connecting
  }

  /**
   * Bytes buffered for writing (Node's deprecated `bufferSize`): `writableLength`, as node:net's.
   * (What the connection still has queued is part of it: the write Writable has in `_write`
   * until its callback.)
   */
  get bufferSize(): number | undefined {
    if (!(#rare in this)) return undefined
    return this[kConn]() !== undefined || this.connecting ? this.writableLength : undefined
  }
}

// setTypeOfService/getTypeOfService exist only where the running Node has them (24+).
if (typeof (nodeNet.Socket.prototype as any).setTypeOfService === 'function') {
  Object.defineProperty(SocketProps.prototype, 'setTypeOfService', {
    value: SocketProps.prototype._setTypeOfService,
    writable: true,
    configurable: true
  })
  Object.defineProperty(SocketProps.prototype, 'getTypeOfService', {
    value: SocketProps.prototype._getTypeOfService,
    writable: true,
    configurable: true
  })
}
