/**
 * `createServer([options], (req, res) => …)`: node:http's server shape on boros/http's engine
 * (`engine.ts`). Requests arrive parsed, one batch per completion batch; each becomes an
 * `IncomingMessage` + `ServerResponse` pair and a `'request'` event. Where io_uring is not
 * available, `createServer()` returns node:http's own server (the same behaviour, node's speed).
 * @module
 */
import { EventEmitter } from 'node:events'
import * as http from 'node:http'
import { usesRing } from '../binding.js'
import { codedError } from '../errors.js'
import { ConnSocket } from './conn-socket.js'
import { Engine, type EngineOptions, type RawRequest } from './engine.js'
import { peerEnded } from './engine-defs.js'
import { type Classes, classesFor } from './app-classes.js'
import { IncomingMessage } from './incoming.js'
import { type ResponseContext, ServerResponse } from './outgoing.js'

/** node:http's server options that boros/http takes. */
export interface ServerOptions {
  /** Bytes of request line + headers; past it: 431 (node's default 16 KiB). */
  maxHeaderSize?: number
  headersTimeout?: number
  requestTimeout?: number
  keepAliveTimeout?: number
  maxRequestsPerSocket?: number
  /** High-water mark of a connection's unsent response bytes (`write` returns false past it). */
  highWaterMark?: number
  /** Accepted for node:http compatibility (boros/http sends without Nagle delays anyway). */
  noDelay?: boolean
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  /** node:http's; only `IncomingMessage`/`ServerResponse` of boros/http are supported. */
  IncomingMessage?: unknown
  ServerResponse?: unknown
  insecureHTTPParser?: boolean
  joinDuplicateHeaders?: boolean
  /** node:http's: an HTTP/1.1 request without `Host` gets 400 (default true). */
  requireHostHeader?: boolean
  connectionsCheckingInterval?: number
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void
type ListenCb = () => void

interface ListenArgs {
  opts: EngineOptions
  cb: ListenCb | undefined
}

/** node's listen() overloads → engine options. */
function listenArgs(args: unknown[]): ListenArgs {
  const last = args[args.length - 1]
  const cb = typeof last === 'function' ? (last as ListenCb) : undefined
  if (cb) args = args.slice(0, -1)
  const [a, b, c] = args
  if (a !== null && typeof a === 'object') {
    const o = a as {
      port?: number | string
      host?: string
      path?: string
      backlog?: number
      ipv6Only?: boolean
      reusePort?: boolean
    }
    return {
      opts: {
        ...(o.path !== undefined ? { path: o.path } : { port: Number(o.port ?? 0) }),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.backlog !== undefined ? { backlog: o.backlog } : {}),
        ...(o.ipv6Only !== undefined ? { ipv6Only: o.ipv6Only } : {}),
        ...(o.reusePort !== undefined ? { reusePort: o.reusePort } : {})
      },
      cb
    }
  }
  if (typeof a === 'string' && !/^\d+$/.test(a)) {
    return { opts: { path: a, ...(typeof b === 'number' ? { backlog: b } : {}) }, cb }
  }
  const opts: EngineOptions = { port: a === undefined || a === null ? 0 : Number(a) }
  if (typeof b === 'string') opts.host = b
  const backlog = typeof b === 'number' ? b : typeof c === 'number' ? c : undefined
  if (backlog !== undefined) opts.backlog = backlog
  return { opts, cb }
}

function noop(): void {}

const CLASSES: Classes = { Req: IncomingMessage, Res: ServerResponse }

/** node:http's `Server` for boros/http. */
export class Server extends EventEmitter {
  /** ms from a request's first byte to the end of its head (408 past it). */
  headersTimeout = 60_000
  requestTimeout = 300_000
  keepAliveTimeout = 5_000
  maxRequestsPerSocket = 0
  /** Accepted for compatibility; the engine does not count headers (maxHeaderSize applies). */
  maxHeadersCount: number | null = null
  /** node's option: duplicate request header fields joined with ', ' (read per request). */
  joinDuplicateHeaders: boolean | undefined
  /** Idle ms before a connection's socket emits 'timeout' (0: never), as `server.setTimeout`. */
  timeout = 0
  readonly maxHeaderSize: number
  #options: ServerOptions
  #engine: Engine | undefined
  /** What every response shares (one field per response instead of two). */
  #ctx: ResponseContext | undefined
  #starting = false
  /**
   * Connection id → its socket, set at the connection's first request, deleted at its close:
   * a dictionary object, not a `Map`. Under connection churn (`Connection: close`, HTTP/1.0) a
   * `Map` is set and deleted once per request, and V8 keeps a `Map`'s rehashed tables chained
   * (see `ConnSocket._open`): once one is promoted, every later table and what it holds survive
   * each scavenge. A dictionary's table is not chained.
   */
  #conns: Record<number, ConnSocket | undefined> = Object.create(null)
  #unref = false
  #requireHost: boolean

  constructor(options?: ServerOptions | RequestListener, listener?: RequestListener) {
    super()
    if (typeof options === 'function') {
      listener = options
      options = {}
    }
    const o = (options ?? {}) as ServerOptions
    this.#options = o
    this.maxHeaderSize = o.maxHeaderSize ?? http.maxHeaderSize
    this.#requireHost = o.requireHostHeader !== false
    if (o.headersTimeout !== undefined) this.headersTimeout = o.headersTimeout
    if (o.requestTimeout !== undefined) this.requestTimeout = o.requestTimeout
    if (o.keepAliveTimeout !== undefined) this.keepAliveTimeout = o.keepAliveTimeout
    if (o.maxRequestsPerSocket !== undefined) this.maxRequestsPerSocket = o.maxRequestsPerSocket
    this.joinDuplicateHeaders = o.joinDuplicateHeaders
    if (listener) this.on('request', listener)
    // node:http asks at each upgrade request whether the server has an 'upgrade' listener
    // (without one it is an ordinary request: its body read, the connection kept); the engine
    // decides as it parses, so it is told whenever that changes.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'upgrade') this.#engine?.setUpgrades(true)
    })
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'upgrade') this.#engine?.setUpgrades(this.listenerCount('upgrade') > 0)
    })
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#engine !== undefined
  }

  /** Listens: `listen(port[, host][, backlog][, cb])`, `listen(path[, cb])`, `listen(options[, cb])`. */
  listen(...args: unknown[]): this {
    const { opts, cb } = listenArgs(args)
    if (cb) this.once('listening', cb)
    if (this.#engine !== undefined || this.#starting)
      throw codedError(
        Error,
        'ERR_SERVER_ALREADY_LISTEN',
        'Listen method has been called more than once without closing.'
      )
    this.#starting = true
    const eo: EngineOptions = {
      ...opts,
      maxHeaderSize: this.maxHeaderSize,
      headersTimeout: this.headersTimeout,
      requestTimeout: this.requestTimeout,
      keepAliveTimeout: this.keepAliveTimeout,
      maxRequestsPerSocket: this.maxRequestsPerSocket,
      upgrades: this.listenerCount('upgrade') > 0,
      ...(this.#options.highWaterMark !== undefined ? { highWaterMark: this.#options.highWaterMark } : {})
    }
    Engine.listen(eo, {
      onRequests: (reqs) => this.#onRequests(reqs),
      onBody: (conn, _seq, chunk, trailers) => this.#onBody(conn, chunk, trailers),
      onClose: (conn, err) => this.#onClose(conn, err),
      onError: (err) => this.emit('error', err)
    }).then(
      (engine) => {
        this.#starting = false
        this.#engine = engine
        // A listener added or removed while the engine started.
        engine.setUpgrades(this.listenerCount('upgrade') > 0)
        this.#ctx = { sink: engine, onFinished: this.#finished }
        if (this.#unref) engine.unref()
        this.emit('listening')
      },
      (err) => {
        this.#starting = false
        this.emit('error', err)
      }
    )
    return this
  }

  /** The bound address, as node's `server.address()` (null when not listening). */
  address(): { address: string; family: string; port: number } | string | null {
    return this.#engine?.address() ?? null
  }

  /** Stops accepting; idle connections close now, busy ones after their response; then 'close'. */
  close(cb?: (err?: Error) => void): this {
    const engine = this.#engine
    if (engine === undefined) {
      const err = codedError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.')
      if (cb) process.nextTick(cb, err)
      return this
    }
    if (cb) this.once('close', cb)
    // Until the engine has closed every connection, the process stays alive (as node's server
    // does while its handles close). The engine's close ops do not hold the loop themselves
    // (seen here: an ava test ended at 'beforeExit' while a close was pending).
    const hold = this.#unref ? undefined : setInterval(() => {}, 60_000)
    engine.close().then(() => {
      clearInterval(hold)
      this.#engine = undefined
      this.emit('close')
    })
    return this
  }

  closeAllConnections(): void {
    this.#engine?.closeAllConnections()
  }

  closeIdleConnections(): void {
    this.#engine?.closeIdleConnections()
  }

  /** node's `server.setTimeout(ms[, cb])`: idle sockets emit 'timeout' (cb listens on the server). */
  setTimeout(ms: number, cb?: (socket: ConnSocket) => void): this {
    this.timeout = ms
    if (cb) this.on('timeout', cb)
    return this
  }

  ref(): this {
    this.#unref = false
    this.#engine?.ref()
    return this
  }

  unref(): this {
    this.#unref = true
    this.#engine?.unref()
    return this
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#engine === undefined) return
    await new Promise<void>((resolve) => this.close(() => resolve()))
  }

  #socket(conn: number): ConnSocket {
    let s = this.#conns[conn]
    if (s === undefined) {
      s = new ConnSocket(conn, this.#engine!, this)
      this.#conns[conn] = s
      if (this.timeout > 0) {
        s.setTimeout(this.timeout)
        s.on('timeout', () => {
          if (!this.emit('timeout', s)) s!.destroy()
        })
      }
      this.emit('connection', s)
    } else s._activity()
    return s
  }

  #finished = (res: ServerResponse): void => {
    // As node's resOnFinish (detachSocket): the socket lets go of the finished response, so a
    // connection between requests keeps no request objects alive (they died young; kept, they
    // were copied by every scavenge: ~2 KiB per connection).
    const socket = res.socket
    if (socket !== null) {
      ServerResponse._settled(res, socket)
      if (socket._httpMessage === res) socket._httpMessage = null
    }
    const req = res.req
    // As node:http: a body nobody read is consumed (so the request ends and closes). A request
    // without a body that nobody listens to is left as it is (its stream is never started, the
    // most of node's per-request cost here); read later, it still ends.
    if (!req._consuming && !req.readableEnded && !IncomingMessage._untouched(req)) req.resume()
  }

  #onRequests(reqs: RawRequest[]): void {
    const engine = this.#engine
    if (engine === undefined) return
    // An Express app as the only listener: requests and responses made on its prototypes.
    const { Req, Res } = this.listenerCount('request') === 1 ? classesFor(this.listeners('request')[0]) : CLASSES
    for (const r of reqs) {
      const socket = this.#socket(r.conn)
      const req = new Req(
        socket,
        engine,
        r.conn,
        r.seq,
        r.method,
        r.url,
        r.versionMinor,
        r.rawHeaders,
        r.body,
        r.streaming,
        r.upgrade
      )
      if (r.streaming) {
        // A body still arriving ahead of this one (pipelined bodies in one receive): this one
        // waits its turn, its chunks come after that body's end.
        if (socket._reading === null) socket._reading = req
        else if (socket._readingNext === null) socket._readingNext = [req]
        else socket._readingNext.push(req)
      }
      if (this.joinDuplicateHeaders) req.joinDuplicateHeaders = true
      try {
        // As node:http: a CONNECT goes to 'connect' (and without a listener its socket is
        // destroyed, unanswered); another upgrade to 'upgrade', or to 'request' without one.
        const event = r.method === 'CONNECT' ? 'connect' : 'upgrade'
        if (r.upgrade && this.listenerCount(event) > 0) {
          const { socket: netSocket, head } = engine.upgrade(r.conn, r.seq)
          delete this.#conns[r.conn]
          req.socket = netSocket as unknown as ConnSocket
          this.emit(event, req, netSocket, head)
          continue
        }
        if (r.upgrade && event === 'connect') {
          socket.destroy()
          continue
        }
        const res = new Res(req, this.#ctx!)
        ServerResponse._opened(res, socket)
        socket._httpMessage = res
        const refusal = r.versionMinor === 1 ? this.#refusal(r) : 0
        if (refusal === 400) {
          // node:http (RFC 9112 3.2): an HTTP/1.1 request without Host, unless
          // `requireHostHeader: false`. Answered as node's does, with no 'request'.
          res.writeHead(400, ['Connection', 'close'])
          res.end()
        } else if (refusal === 417) {
          if (this.listenerCount('checkExpectation') > 0) this.emit('checkExpectation', req, res)
          else {
            res.writeHead(417)
            res.end()
          }
        } else if (r.expectContinue && this.listenerCount('checkContinue') > 0) {
          this.emit('checkContinue', req, res)
        } else {
          if (r.expectContinue) engine.continue(r.conn)
          this.emit('request', req, res)
        }
      } catch (err) {
        // As node: a throwing handler is an uncaught exception; the other requests still run.
        queueMicrotask(() => {
          throw err
        })
      }
      // node:http runs the handler when the head is complete, before the message is.
      if (!r.streaming) req.complete = true
    }
  }

  /**
   * What node:http refuses of an HTTP/1.1 request before its 'request' event: no Host (400,
   * unless `requireHostHeader: false`), an `Expect` other than `100-continue` (417).
   */
  #refusal(r: RawRequest): 0 | 400 | 417 {
    const raw = r.rawHeaders
    let host = !this.#requireHost
    let expect = false
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!
      if (n.length === 4 && !host) host = n.toLowerCase() === 'host'
      else if (n.length === 6 && !r.expectContinue && n.toLowerCase() === 'expect') expect = true
    }
    return !host ? 400 : expect ? 417 : 0
  }

  #onBody(conn: number, chunk: Buffer | null, trailers: string[] | undefined): void {
    const socket = this.#conns[conn]
    const req = socket?._reading as IncomingMessage | null | undefined
    if (req === null || req === undefined) return
    if (chunk === null) {
      const next = socket!._readingNext
      socket!._reading = next?.shift() ?? null
      if (next?.length === 0) socket!._readingNext = null
    }
    IncomingMessage._chunk(req, chunk, trailers)
  }

  #onClose(conn: number, err: Error | null): void {
    const socket = this.#conns[conn]
    delete this.#conns[conn]
    if (socket !== undefined) {
      const req = socket._reading as IncomingMessage | null
      if (req !== null) {
        socket._reading = null
        IncomingMessage._abort(req)
      }
      const next = socket._readingNext as IncomingMessage[] | null
      if (next !== null) {
        socket._readingNext = null
        for (const r of next) IncomingMessage._abort(r)
      }
      // As node:http's abortIncoming at the socket's end or close: every request not yet
      // answered is aborted, and its response closes unfinished.
      for (const res of ServerResponse._unfinished(socket)) {
        IncomingMessage._abort(res.req)
        ServerResponse._connClosed(res)
      }
    }
    if (err !== null && !peerEnded(err) && this.listenerCount('clientError') > 0) {
      // The engine has answered already (400/408/413/431 and the close), as node's default
      // does: the socket says it is not writable (listeners written for node, Fastify's among
      // them, check `socket.writable` before writing their own answer), and as node's
      // socketOnError it gets a no-op 'error' listener for a `socket.destroy(err)`.
      const s = socket ?? new ConnSocket(conn, this.#engine!, this)
      s.writable = false
      if (s.listenerCount('error') === 0) s.on('error', noop)
      this.emit('clientError', err, s)
    }
    socket?._closed(err)
  }
}

/**
 * `http.createServer()` on boros/http: node:http's server on the ring; node:http's own server
 * where io_uring is not available (`backend` says which).
 */
export function createServer(options?: ServerOptions | RequestListener, listener?: RequestListener): Server {
  if (!usesRing())
    return http.createServer(options as http.ServerOptions, listener as unknown as http.RequestListener) as never
  return new Server(options, listener)
}
