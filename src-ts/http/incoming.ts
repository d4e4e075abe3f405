/**
 * `IncomingMessage` of boros/http's `createServer()`: node:http's request shape (a Readable
 * with method, url, headers, rawHeaders, httpVersion, complete, socket) over one request
 * record of the engine. The body is the engine's: inline (pushed at the first read) or
 * streamed (`onBody` chunks, with `pause`/`resume` of the connection as backpressure).
 *
 * Frameworks replace the prototype of the request (Express 5 sets it to its `app.request`,
 * which inherits from node's `http.IncomingMessage.prototype`): the methods node's prototype
 * would otherwise supply with its own internals (`_read`, `_destroy`, `setTimeout`) are set on
 * each instance, and node's getters read the fields they expect (`socket`, `headers`...).
 * Fields whose default is falsy (`aborted`, `upgrade`, `statusCode`, the body state of a
 * request without one) are on the prototype and set on a request only when they differ:
 * Express's `Object.setPrototypeOf` costs ~20-30 ns per own property on Node 24.
 * @module
 */
import * as http from 'node:http'
import { Readable } from 'node:stream'
import type { ConnSocket } from './conn-socket.js'

/** What a request needs from its server (the engine behind it). */
export interface RequestSource {
  pause(conn: number): void
  resume(conn: number): void
}

const EMPTY = Buffer.alloc(0)

/** Lower-cased header names whose duplicates node:http drops (the first wins). */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent'
])

/** Header names as received -> lower-cased (a client sends the same few names every time). */
const LOWER = new Map<string, string>()
/** Names kept at most (what a client sends past that is lower-cased each time). */
const LOWER_MAX = 256

/**
 * `name` lower-cased; the known ones from {@link LOWER} (an internalized key, no new string).
 * Also the response's header keys (outgoing.ts): Express sets and reads `Content-Type` and
 * `Content-Length` by those names on every response.
 */
export function lowerName(name: string): string {
  let key = LOWER.get(name)
  if (key === undefined) {
    key = name.toLowerCase()
    if (LOWER.size < LOWER_MAX) LOWER.set(name, key)
  }
  return key
}

/**
 * node:http's `headers` object from flat raw headers: names lower-cased; duplicates dropped
 * (the names above), `set-cookie` an array, `cookie` joined with '; ', others with ', '.
 */
export function headersOf(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1]!
    const key = lowerName(name)
    const had = out[key]
    if (had === undefined) {
      out[key] = key === 'set-cookie' ? [value] : value
    } else if (key === 'set-cookie') {
      ;(had as string[]).push(value)
    } else if (!SINGLE.has(key)) {
      out[key] = `${had as string}${key === 'cookie' ? '; ' : ', '}${value}`
    }
  }
  return out
}

/**
 * node's private keys behind its lazy `headers` / `headersDistinct` getters (an instance of
 * node's own `IncomingMessage` has them as own symbols); undefined if a Node has other
 * internals, and then `headers` is built at once by {@link headersOf}.
 */
const [kHeaders, kHeadersCount] = ((): [symbol | undefined, symbol | undefined] => {
  const own = Object.getOwnPropertySymbols(new http.IncomingMessage(null as never))
  const h = own.find((k) => k.description === 'kHeaders')
  const n = own.find((k) => k.description === 'kHeadersCount')
  const getter = Object.getOwnPropertyDescriptor(http.IncomingMessage.prototype, 'headers')?.get
  return h !== undefined && n !== undefined && getter !== undefined ? [h, n] : [undefined, undefined]
})()

/** node:http's `IncomingMessage` for boros/http's `createServer()`. */
export class IncomingMessage extends Readable {
  /** The connection's socket-like object (addresses, `setTimeout`, `destroy`). */
  declare socket: ConnSocket
  declare method: string
  declare url: string
  declare httpVersion: string
  declare httpVersionMajor: number
  declare httpVersionMinor: number
  declare rawHeaders: string[]
  /**
   * node's lazy getter (`http.IncomingMessage.prototype`), built from `rawHeaders` by node's
   * own `_addHeaderLine` on first read (as `headersDistinct`); a framework's swapped prototype
   * inherits the same getter. Assignable, as node's.
   */
  declare headers: Record<string, string | string[]>
  /**
   * node's lazy getter (`http.IncomingMessage.prototype`): `{}` until the body's end, then the
   * trailer fields of a chunked body, joined as headers are (filled by node's own
   * `_addHeaderLines` from `rawTrailers`).
   */
  declare trailers: Record<string, string>
  declare rawTrailers: string[]
  /**
   * node's: duplicate header fields joined with ', ' instead of dropped (the server's
   * `joinDuplicateHeaders` option). On the prototype (false), set on a request only when true.
   */
  declare joinDuplicateHeaders: boolean
  /** True once the whole body was received (own: on-finished tells requests by it). */
  declare complete: boolean
  /** True when the connection went away before the body was complete (prototype: false). */
  declare aborted: boolean
  /** Prototype: false; own when true. */
  declare upgrade: boolean
  /** Prototype: null (node's are null on a server's request). */
  declare statusCode: null
  declare statusMessage: null
  /** @internal connection id and request number on it. */
  declare readonly _conn: number
  declare readonly _seq: number
  /** @internal the inline body (prototype: null). */
  declare _body: Buffer | null
  /** @internal the body streams from the engine (prototype: false; own, with `_source`, when true). */
  declare _streaming: boolean
  declare _source: RequestSource
  /** @internal prototype: false. */
  declare _paused: boolean
  /** node's (its server reads it): prototype false, own once the body is read. */
  declare _consuming: boolean

  constructor(
    socket: ConnSocket,
    source: RequestSource,
    conn: number,
    seq: number,
    method: string,
    url: string,
    versionMinor: number,
    rawHeaders: string[],
    body: Buffer | null,
    streaming: boolean,
    upgrade: boolean
  ) {
    super()
    initRequest(this, socket, source, conn, seq, method, url, versionMinor, rawHeaders, body, streaming, upgrade)
  }

  /** node's alias of `socket`. */
  get connection(): ConnSocket {
    return this.socket
  }

  override _read(_n: number): void {
    incomingRead.call(this)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    incomingDestroy.call(this, err, cb)
  }

  /** `socket.setTimeout(ms, cb)` for the request's connection. */
  setTimeout(ms: number, cb?: () => void): this {
    return incomingSetTimeout.call(this, ms, cb) as this
  }

  /**
   * @internal a body chunk from the engine (`null`: the end). Static (as `_abort`): a swapped
   * prototype does not lose it.
   */
  static _chunk(req: IncomingMessage, chunk: Buffer | null, trailers?: string[]): void {
    if (chunk === null) {
      req.complete = true
      // As node's parserOnMessageComplete: the trailers, then the end.
      if (trailers !== undefined) addTrailers(req, trailers)
      req.push(null)
      return
    }
    if (!req.push(chunk) && !req._paused) {
      req._paused = true
      req._source.pause(req._conn)
    }
  }

  /**
   * @internal no body and nobody waiting for its events: nothing to consume when the response
   * is done (node's `_dump` would run the stream to its 'end' and 'close' for no one).
   */
  static _untouched(req: IncomingMessage): boolean {
    return (
      !req._streaming &&
      // == null: after a framework's prototype swap an unset `_body` reads undefined.
      (req._body == null || req._body.length === 0) &&
      req.listenerCount('end') === 0 &&
      req.listenerCount('close') === 0 &&
      req.listenerCount('data') === 0 &&
      req.listenerCount('readable') === 0 &&
      req.listenerCount('error') === 0
    )
  }

  /** @internal the connection closed before the body was complete. */
  static _abort(req: IncomingMessage): void {
    if (req.destroyed) return
    // node's IncomingMessage._destroy: 'aborted' unless the whole body was read to its end.
    if (!req.readableEnded || !req.complete) {
      req.aborted = true
      req.emit('aborted')
    }
    req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
  }
}

type RequestArgs = [
  socket: ConnSocket,
  source: RequestSource,
  conn: number,
  seq: number,
  method: string,
  url: string,
  versionMinor: number,
  rawHeaders: string[],
  body: Buffer | null,
  streaming: boolean,
  upgrade: boolean
]

/** The constructor's fields (shared with {@link requestClassOn}'s constructors). */
function initRequest(
  req: IncomingMessage,
  socket: ConnSocket,
  source: RequestSource,
  conn: number,
  seq: number,
  method: string,
  url: string,
  versionMinor: number,
  rawHeaders: string[],
  body: Buffer | null,
  streaming: boolean,
  upgrade: boolean
): void {
  const self = req as any
  self.rawTrailers = []
  self.complete = false
  self.socket = socket
  self._conn = conn
  self._seq = seq
  self.method = method
  self.url = url
  self.httpVersionMajor = 1
  self.httpVersionMinor = versionMinor
  self.httpVersion = versionMinor === 1 ? '1.1' : '1.0'
  self.rawHeaders = rawHeaders
  if (kHeadersCount !== undefined) {
    // What node's parser sets: no headers object until someone reads `headers`.
    self[kHeaders!] = null
    self[kHeadersCount] = rawHeaders.length
  } else self.headers = headersOf(rawHeaders)
  if (body !== null) self._body = body
  if (streaming) {
    self._streaming = true
    self._source = source
  }
  if (upgrade) self.upgrade = true
  // Own properties: they survive a framework swapping this object's prototype.
  self._read = incomingRead
  self._destroy = incomingDestroy
  self.setTimeout = incomingSetTimeout
}

/** What {@link requestClassOn} makes: `new` gives a request whose prototype is `proto`. */
export type RequestClass = new (...args: RequestArgs) => IncomingMessage

/**
 * A constructor of requests whose prototype is `proto` from the start (a framework's, such as
 * an Express app's `app.request`, which inherits from node's `http.IncomingMessage.prototype`),
 * with the fields of {@link IncomingMessage}. A plain function whose own `prototype` is `proto`:
 * its instances share a map with cached transitions, so the framework's
 * `Object.setPrototypeOf(req, proto)` is a no-op and what it adds afterwards is a cached
 * transition (Node 20's V8 caches no transition from a map made by a prototype swap, nor by
 * `Reflect.construct` with another `new.target`: each property added after cost ~1-2 µs).
 */
export function requestClassOn(proto: object): RequestClass {
  // Parameters spelled out (no rest/spread): one call per request, no arguments array.
  function Request(
    this: IncomingMessage,
    socket: ConnSocket,
    source: RequestSource,
    conn: number,
    seq: number,
    method: string,
    url: string,
    versionMinor: number,
    rawHeaders: string[],
    body: Buffer | null,
    streaming: boolean,
    upgrade: boolean
  ): void {
    Readable.call(this as never)
    initRequest(this, socket, source, conn, seq, method, url, versionMinor, rawHeaders, body, streaming, upgrade)
    // The defaults IncomingMessage keeps on its prototype, which `proto` does not inherit from
    // (node's own has them as own fields): `req.aborted === false` under Express as on node:http.
    const self = this as any
    self.aborted = false
    if (!upgrade) self.upgrade = false
    self.statusCode = null
    self.statusMessage = null
  }
  Request.prototype = proto
  return Request as unknown as RequestClass
}

/**
 * A request's trailer fields (flat, as received), given once `complete` is true: node's own
 * `_addHeaderLines` (of `http.IncomingMessage.prototype`) sets `rawTrailers` and the count its
 * lazy `trailers` getter reads, and fills a `trailers` object read before; set by hand where
 * a Node has no such method.
 */
function addTrailers(req: IncomingMessage, trailers: string[]): void {
  const add = (req as unknown as { _addHeaderLines?: (h: string[], n: number) => void })._addHeaderLines
  if (typeof add === 'function' && kHeadersCount !== undefined) add.call(req, trailers, trailers.length)
  else {
    req.rawTrailers = trailers
    req.trailers = headersOf(trailers) as Record<string, string>
  }
}

function incomingRead(this: IncomingMessage): void {
  this._consuming = true
  if (this._streaming) {
    if (this._paused) {
      this._paused = false
      this._source.resume(this._conn)
    }
    return
  }
  const body = this._body
  this._body = null
  if (body != null && body.length > 0) this.push(body)
  this.complete = true
  this.push(null)
}

function incomingDestroy(this: IncomingMessage, err: Error | null, cb: (err?: Error | null) => void): void {
  if (this._paused) {
    this._paused = false
    this._source.resume(this._conn)
  }
  // As node:http: destroying a request whose body is not complete closes its connection.
  if (!this.complete && this._streaming && !this.readableEnded) this.socket.destroy()
  // As node's IncomingMessage: the error is emitted only when someone listens for it.
  cb(this.listenerCount('error') > 0 ? err : null)
}

function incomingSetTimeout(this: IncomingMessage, ms: number, cb?: () => void): IncomingMessage {
  this.socket.setTimeout(ms, cb)
  return this
}

// `instanceof http.IncomingMessage` holds, and what this class does not define comes from node's.
Object.setPrototypeOf(IncomingMessage.prototype, http.IncomingMessage.prototype)
IncomingMessage.prototype.joinDuplicateHeaders = false
{
  const p = IncomingMessage.prototype as unknown as Record<string, unknown>
  p.aborted = false
  p.upgrade = false
  p.statusCode = null
  p.statusMessage = null
  p._body = null
  p._streaming = false
  p._paused = false
  p._consuming = false
}

export { EMPTY }
