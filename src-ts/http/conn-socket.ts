/**
 * The socket-like object `req.socket` / `res.socket` of boros/http's `createServer()`: one per
 * connection, with node's address fields (read from the kernel once, on first use),
 * `setTimeout`, `destroy`, and the events libraries listen for (`'close'`, `'error'`,
 * `'timeout'`). The bytes themselves never pass through it: the engine owns the connection.
 * @module
 */
import { EventEmitter } from 'node:events'
import type { PeerInfo } from './engine.js'

/** What a connection's socket needs from the engine. */
export interface ConnSource {
  peer(conn: number): PeerInfo | undefined
  destroy(conn: number): void
}

/** A connection of boros/http, shaped like the `net.Socket` node:http hands out. */
export class ConnSocket extends EventEmitter {
  /** The connection id in the engine. */
  readonly _conn: number
  #source: ConnSource
  #peer: PeerInfo | undefined
  #timer: NodeJS.Timeout | undefined
  /** The value given to the last `setTimeout()`. */
  timeout: number | undefined
  /** No TLS here (node's `socket.encrypted` is only set on TLS sockets). */
  readonly encrypted = undefined
  readable = true
  writable = true
  destroyed = false
  readonly writableLength = 0
  /** What node's response getters read from their socket (on the prototype). */
  declare readonly writableHighWaterMark: number
  declare readonly writableCorked: number
  readonly bytesWritten = 0
  readonly bytesRead = 0
  /** The server that accepted it. */
  server: unknown
  /** The response being written on it (node:http's field). */
  _httpMessage: unknown = null
  /**
   * @internal the server's bookkeeping (server.ts): the last response not yet finished, and
   * the request whose body is still arriving. Fields, not `Map`s keyed by connection: a `Map`
   * set and deleted once per request made V8 chain its rehashed tables (kept for iterators),
   * and one promoted table kept every later table and the responses in them alive through
   * scavenges (Node 24: 25 MB promoted per scavenge at hello x 64, p99 ~25 ms).
   */
  _open: object | null = null
  /** @internal see `_open`. */
  _reading: object | null = null
  /**
   * @internal requests pipelined behind `_reading` whose bodies arrive after its own (heads of
   * one receive reach JS before the bodies in it): null, or the queue, oldest first.
   */
  _readingNext: object[] | null = null

  constructor(conn: number, source: ConnSource, server: unknown) {
    super()
    this._conn = conn
    this.#source = source
    this.server = server
  }

  #info(): PeerInfo | undefined {
    if (this.#peer === undefined && !this.destroyed) this.#peer = this.#source.peer(this._conn)
    return this.#peer
  }

  get remoteAddress(): string | undefined {
    return this.#info()?.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.#info()?.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.#info()?.remoteFamily
  }
  get localAddress(): string | undefined {
    return this.#info()?.localAddress
  }
  get localPort(): number | undefined {
    return this.#info()?.localPort
  }

  /** The local address, as `net.Socket#address()`. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const p = this.#info()
    return p ? { address: p.localAddress, family: p.remoteFamily, port: p.localPort } : {}
  }

  /** Emits `'timeout'` after `ms` without a request on this connection (0 disables). */
  setTimeout(ms: number, cb?: () => void): this {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.timeout = ms
    if (cb) this.once('timeout', cb)
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => this.emit('timeout'), ms)
      this.#timer.unref()
    }
    return this
  }

  /** @internal activity on the connection (a request): the idle timer starts again. */
  _activity(): void {
    this.#timer?.refresh()
  }

  /** Closes the connection now (unsent bytes are dropped). */
  destroy(err?: Error): this {
    if (this.destroyed) return this
    if (err) queueMicrotask(() => this.emit('error', err))
    this.#source.destroy(this._conn)
    return this
  }

  /** As `destroy()`: the engine answers nothing more on it. */
  end(): this {
    return this.destroy()
  }

  /**
   * Refused: the bytes of a connection are the engine's (a `clientError` listener finds
   * `writable` false: the engine has answered already). Returns false, as a destroyed
   * `net.Socket`'s `write` does.
   */
  write(_chunk?: unknown, _encoding?: unknown, _cb?: unknown): boolean {
    return false
  }

  /** node:net's no-ops that libraries call on server sockets. */
  setNoDelay(_noDelay?: boolean): this {
    return this
  }
  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this
  }
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this
  }
  resume(): this {
    return this
  }

  /** @internal the engine closed the connection: `'close'` (with `hadError`). */
  _closed(err: Error | null): void {
    if (this.destroyed) return
    this.destroyed = true
    this.readable = false
    this.writable = false
    clearTimeout(this.#timer)
    if (err !== null && this.listenerCount('error') > 0) this.emit('error', err)
    this.emit('close', err !== null)
  }
}
Object.defineProperties(ConnSocket.prototype, {
  writableHighWaterMark: { value: 16 * 1024, writable: true, configurable: true },
  writableCorked: { value: 0, writable: true, configurable: true }
})
