/**
 * `ServerResponse` of boros/http's `createServer()`: node:http's response shape (statusCode,
 * statusMessage, the header methods, writeHead, write, end, flushHeaders, headersSent,
 * `'finish'`/`'close'`, backpressure with `'drain'`, writeContinue) over the engine. Headers
 * are kept as given and handed to the engine as a flat list when the head leaves (at the first
 * `write`, `end` or `flushHeaders`); the engine frames the body (Content-Length, chunked, close),
 * adds Date and Connection as node:http does, and sends each connection's responses once per
 * turn, in request order.
 *
 * Like node's, it is a legacy `Stream`, not a `stream.Writable`. Express 5 swaps its prototype
 * for its `app.response` (which inherits from node's `http.ServerResponse.prototype`), so the
 * object must behave the same on node's prototype chain:
 * - the headers live where node's keep them (`this[kOutHeaders]`, node's format), so node's own
 *   header methods (setHeader, getHeader, removeHeader...) work on it after the swap; the ones
 *   here are the same methods with a cache of lower-cased names;
 * - the methods node's prototype would answer with its own internals (writeHead, write, end...)
 *   are also set on each instance, and the fields node's getters read (`_header`, `finished`,
 *   `outputSize`, `socket`...) are kept as own fields;
 * - everything else is on the prototype (`statusCode` and `statusMessage` are on node's too)
 *   or in a few symbol fields: Express's `Object.setPrototypeOf` costs ~20-30 ns per own
 *   property on Node 24 (V8 copies the map). For an Express app as the server's listener the
 *   responses are made on `app.response` from the start (app-classes.ts, `responseClassOn`).
 * @module
 */
import * as http from 'node:http'
// Named: a namespace import of a builtin compiles to a getter per property read (CommonJS).
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http'
import { Stream } from 'node:stream'
import { codedError } from '../errors.js'
import type { ConnSocket } from './conn-socket.js'
import type { IncomingMessage } from './incoming.js'
import { lowerName } from './incoming.js'
import {
  type Cb,
  type Headers,
  headersSentError,
  kNeedDrain,
  kOutHeaders,
  kSocket,
  lower,
  FINISHED_AT_FINISH_EVENT,
  NODE_FIELDS,
  nodeOutHeaders,
  pairsOf,
  bytes,
  type ResponseContext
} from './outgoing-defs.js'
import { FINISH_EMITTED, HEAD_FIXED, HEAD_SENT, hasLength, kCtx, kGiven, kState, send, table } from './outgoing-head.js'
import { batched } from './ticks.js'

/** @internal the links of a connection's list of responses not finished (`ConnSocket._open`). */
const kOlder: unique symbol = Symbol('kOlder')
const kNewer: unique symbol = Symbol('kNewer')

export type { ResponseContext, ResponseSink } from './outgoing-defs.js'

/** `res.outputData`: node's queue of unsent writes; boros/http keeps none in JS. */
const EMPTY_OUTPUT: readonly unknown[] = Object.freeze([])

/** node:http's `ServerResponse` for boros/http's `createServer()`. */
export class ServerResponse extends Stream {
  /** On the prototype (node's has 200 and undefined there too); own once set. */
  declare statusCode: number
  declare statusMessage: string | undefined
  /** Whether the engine adds `Date` (node's default true; node's removeHeader('date') clears it). */
  declare sendDate: boolean
  /** node's field behind `headersSent`: true once the head is fixed (writeHead, write, end). */
  declare _header: boolean
  /** node's: the trailer lines of `addTrailers` (on the prototype, `''`; own once set). */
  declare _trailer: string
  /** True once `end()` was called (node's `finished`, behind `writableEnded`). */
  declare finished: boolean
  declare writable: boolean
  declare destroyed: boolean
  /** node's: its `writableLength` / `writableFinished` getters read it after a prototype swap. */
  declare readonly outputSize: number
  /** node's (its getters read it): on the prototype, an empty frozen array. */
  declare readonly outputData: unknown[]
  /** The request this answers. */
  declare req: IncomingMessage
  declare socket: ConnSocket | null
  /** The header table, node's format and key: `{ [lower-cased name]: [name, value] }`. */
  declare [kOutHeaders]: Headers | null
  declare [kNeedDrain]: boolean
  declare readonly writableObjectMode: boolean
  /** @internal what the server's responses share. */
  declare [kCtx]: ResponseContext
  /** @internal the head as flat pairs, when writeHead() gave it as an object with nothing set before. */
  declare [kGiven]: string[] | null
  /** @internal HEAD_SENT | HEAD_FIXED. */
  declare [kState]: number
  /** @internal the connection's next older / newer response not finished (pipelining). */
  declare [kOlder]: ServerResponse | null
  declare [kNewer]: ServerResponse | null

  constructor(req: IncomingMessage, ctx: ResponseContext) {
    super()
    initResponse(this, req, ctx)
  }

  /** node's alias of `socket`. */
  get connection(): ConnSocket | null {
    return this.socket
  }

  get headersSent(): boolean {
    return this._header
  }

  get writableEnded(): boolean {
    return this.finished
  }

  get writableFinished(): boolean {
    return FINISHED_AT_FINISH_EVENT ? (this[kState] & FINISH_EMITTED) !== 0 : this.finished
  }

  get writableNeedDrain(): boolean {
    return !this.destroyed && !this.finished && this[kNeedDrain]
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this._header) throw headersSentError('set')
    validateHeaderName(name)
    validateHeaderValue(name, value as string)
    const headers = this[kOutHeaders] ?? table(this)
    headers[lowerName(name)] = [name, value]
    return this
  }

  appendHeader(name: string, value: string | number | readonly string[]): this {
    if (this._header) throw headersSentError('append')
    validateHeaderName(name)
    validateHeaderValue(name, value as string)
    const key = lowerName(name)
    const headers = this[kOutHeaders] ?? table(this)
    const had = headers[key]
    if (had === undefined) headers[key] = [name, value]
    else {
      const prev = Array.isArray(had[1]) ? had[1] : [String(had[1])]
      had[1] = prev.concat(Array.isArray(value) ? value : [String(value)])
    }
    return this
  }

  getHeader(name: string): string | number | readonly string[] | undefined {
    return this[kOutHeaders]?.[lower(name)]?.[1]
  }

  getHeaders(): Record<string, string | number | readonly string[]> {
    const out = Object.create(null) as Record<string, string | number | readonly string[]>
    const headers = this[kOutHeaders]
    if (headers !== null) for (const k in headers) out[k] = headers[k]![1]
    return out
  }

  getHeaderNames(): string[] {
    const headers = this[kOutHeaders]
    return headers === null ? [] : Object.keys(headers)
  }

  getRawHeaderNames(): string[] {
    const headers = this[kOutHeaders]
    return headers === null ? [] : Object.values(headers).map((h) => h[0])
  }

  hasHeader(name: string): boolean {
    return this[kOutHeaders]?.[lower(name)] !== undefined
  }

  removeHeader(name: string): void {
    if (this._header) throw headersSentError('remove')
    const key = lower(name)
    // As node's: no Date header once it is removed.
    if (key === 'date') this.sendDate = false
    const headers = this[kOutHeaders]
    if (headers !== null) delete headers[key]
  }

  /** Fixes status, reason and headers; they leave with the first body bytes (or flushHeaders). */
  writeHead(
    statusCode: number,
    reason?: string | http.OutgoingHttpHeaders | http.OutgoingHttpHeader[],
    headers?: http.OutgoingHttpHeaders | http.OutgoingHttpHeader[]
  ): this {
    if (this._header) throw headersSentError('write')
    const code = statusCode | 0
    if (code < 100 || code > 999)
      throw codedError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${statusCode}`)
    this.statusCode = code
    if (typeof reason === 'string') {
      if (/[^\t\x20-\x7e\x80-\xff]/.test(reason))
        throw codedError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage')
      this.statusMessage = reason
    } else {
      // As node's writeHead: the reason is fixed here (a second writeHead after a refused one
      // keeps the first's).
      this.statusMessage ||= STATUS_CODES[code] ?? 'unknown'
      if (reason !== undefined && reason !== null) headers = reason
    }
    if (Array.isArray(headers)) {
      if (headers.length % 2 !== 0)
        throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'headers' is invalid.")
      for (let i = 0; i < headers.length; i += 2) {
        const k = headers[i]
        if (k) this.appendHeader(String(k), headers[i + 1] as string)
      }
    } else if (headers && this[kOutHeaders] === null) {
      // node's "only writeHead() called": the object's pairs are the head as they are, and the
      // header table stays empty (getHeader() is undefined afterwards, as node's).
      this[kGiven] = pairsOf(headers)
    } else if (headers) {
      for (const k of Object.keys(headers)) {
        const v = headers[k]
        if (v !== undefined) this.setHeader(k, v)
      }
    }
    this._header = true
    this[kState] |= HEAD_FIXED
    return this
  }

  /** Node's `writeHeader` alias. */
  writeHeader(
    statusCode: number,
    reason?: string | http.OutgoingHttpHeaders,
    headers?: http.OutgoingHttpHeaders
  ): this {
    return this.writeHead(statusCode, reason, headers)
  }

  /** @internal the head as node would fix it at the first write. */
  _implicitHeader(): void {
    this._header = true
  }

  /** Body bytes; false when the connection's output is over its high-water mark ('drain' follows). */
  write(chunk: unknown, encoding?: BufferEncoding | Cb, cb?: Cb): boolean {
    if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.finished) {
      const err = codedError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end')
      process.nextTick(() => {
        cb?.(err)
        this.emit('error', err)
      })
      return false
    }
    if (chunk === null) throw codedError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream')
    const body = bytes(chunk, encoding)
    if (this.destroyed) {
      if (cb)
        process.nextTick(
          cb,
          codedError(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed')
        )
      return false
    }
    const ok = send(this, body, false)
    if (cb) process.nextTick(cb)
    return ok
  }

  /** The last bytes (optional) and the end of the response; 'finish' then 'close' follow. */
  end(chunk?: unknown, encoding?: BufferEncoding | Cb, cb?: Cb): this {
    if (typeof chunk === 'function') {
      cb = chunk as Cb
      chunk = undefined
    } else if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.finished) {
      if (cb) process.nextTick(cb)
      return this
    }
    const body = chunk === undefined || chunk === null ? null : bytes(chunk, encoding as BufferEncoding | undefined)
    this.finished = true
    this.writable = false
    if (cb) this.once('finish', cb)
    // As node's: the connection is gone (the client went away, or destroy()): nothing is
    // sent, and 'finish' (so the callback) never comes; 'close' came with the close.
    if (this.destroyed) return this
    // Set by this class's addTrailers or, after a framework swapped the prototype, node's own
    // (same format); undefined on an object whose prototype chain has neither field.
    const trailers = this._trailer
    if (trailers) this[kCtx].sink.trailers(this.req._conn, this.req._seq, trailers)
    const state = this[kState] & (HEAD_FIXED | HEAD_SENT)
    if ((state === HEAD_FIXED || (state === 0 && this[kOutHeaders]?.trailer !== undefined)) && !hasLength(this)) {
      // node:http renders the head at writeHead(): with no Content-Length given, the body is
      // sent chunked (HTTP/1.1) even when end() brings all of it.
      send(this, null, false)
      send(this, body ?? '', true)
    } else send(this, body, true)
    finishing(this)
    return this
  }

  /** Sends the head now (no body yet). */
  flushHeaders(): void {
    if ((this[kState] & HEAD_SENT) === 0 && !this.destroyed) send(this, null, false)
  }

  /** `HTTP/1.1 100 Continue` (for a 'checkContinue' listener). */
  writeContinue(cb?: () => void): void {
    this[kCtx].sink.continue(this.req._conn)
    if (cb) process.nextTick(cb)
  }

  /** Node's `writeProcessing` (102): not sent by boros/http; the callback still runs. */
  writeProcessing(cb?: () => void): void {
    if (cb) process.nextTick(cb)
  }

  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.on('timeout', cb)
    this.socket?.setTimeout(ms, () => this.emit('timeout', this.socket))
    return this
  }

  /** Closes the connection now; 'close' follows. */
  destroy(err?: Error): this {
    if (this.destroyed) return this
    this.destroyed = true
    this[kCtx].sink.destroy(this.req._conn)
    if (err) process.nextTick(() => this.emit('error', err))
    return this
  }

  cork(): void {}
  uncork(): void {}

  /**
   * Trailer fields sent after a chunked body (node's: replaces those given before; dropped when
   * the body is not chunked). A `Trailer` header makes the body chunked, as node's does.
   */
  addTrailers(headers: Record<string, unknown> | ReadonlyArray<readonly [string, unknown]>): void {
    let lines = ''
    const isArray = Array.isArray(headers)
    const keys = Object.keys(headers)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const [field, raw] = isArray
        ? ((headers as ReadonlyArray<readonly [string, unknown]>)[i] as readonly [string, unknown])
        : [key, (headers as Record<string, unknown>)[key]]
      validateHeaderName(field)
      let value = raw
      if (Array.isArray(value) && value.length > 1) {
        for (const v of value) lines += trailerLine(field, v)
        continue
      }
      if (Array.isArray(value)) value = value.join('; ')
      lines += trailerLine(field, value)
    }
    this._trailer = lines
  }

  /**
   * @internal the connection closed: 'close' (once) if the response did not finish first.
   * Static (as the others the server calls): a swapped prototype does not lose it.
   */
  /**
   * @internal whether `sendFile()` (file.ts) can hand `res` a file body on the engine: a
   * response of boros/http (whatever its prototype: Express swaps it) with an engine that can.
   */
  static _canSendFile(res: object): res is ServerResponse {
    const ctx = (res as ServerResponse)[kCtx]
    const r = res as ServerResponse
    return ctx !== undefined && typeof ctx.sink.sendFile === 'function' && !r.finished && !r.destroyed
  }

  /**
   * @internal `sendFile()`'s body (file.ts): the head if it has not left, `length` bytes of `fd`
   * from `offset` read and sent by the engine, then the end. Resolves with the bytes sent.
   */
  static async _sendFile(
    res: ServerResponse,
    fd: number,
    offset: number,
    length: number,
    signal?: AbortSignal
  ): Promise<number> {
    if ((res[kState] & HEAD_SENT) === 0) send(res, null, false)
    let n = 0
    if (length > 0 && res.req.method !== 'HEAD')
      n = await res[kCtx].sink.sendFile!(res.req._conn, res.req._seq, fd, offset, length, false, signal)
    res.end()
    return n
  }

  /** @internal `res` is its connection's newest response: first in the list of those not finished. */
  static _opened(res: ServerResponse, socket: ConnSocket): void {
    const older = socket._open as ServerResponse | null
    res[kOlder] = older
    if (older !== null) older[kNewer] = res
    socket._open = res
  }

  /** @internal `res` finished: out of its connection's list. */
  static _settled(res: ServerResponse, socket: ConnSocket): void {
    const older = res[kOlder]
    const newer = res[kNewer]
    if (older !== null) older[kNewer] = newer
    if (newer !== null) newer[kOlder] = older
    else if (socket._open === res) socket._open = older
    res[kOlder] = null
    res[kNewer] = null
  }

  /** @internal the responses of a closed connection not finished, oldest first (the list is emptied). */
  static _unfinished(socket: ConnSocket): ServerResponse[] {
    const out: ServerResponse[] = []
    for (let r = socket._open as ServerResponse | null; r !== null; r = r[kOlder]) out.push(r)
    socket._open = null
    return out.reverse()
  }

  static _connClosed(res: ServerResponse): void {
    if (res.finished) return
    res.destroyed = true
    res.writable = false
    res.emit('close')
  }

  /** @internal 'finish' (and the server's bookkeeping), then 'close'. */
  static _finish(res: ServerResponse): void {
    res[kState] |= FINISH_EMITTED
    try {
      res.emit('prefinish')
      res.emit('finish')
    } finally {
      // A listener that throws (an uncaught exception) does not cost the response its 'close'
      // nor the server its bookkeeping: node's run in a 'finish' listener of its own, first.
      res[kCtx].onFinished(res)
      closing(res)
    }
  }
}

/** The constructor's fields (shared with {@link responseClassOn}'s constructors). */
function initResponse(res: ServerResponse, req: IncomingMessage, ctx: ResponseContext): void {
  const self = res as any
  self.sendDate = true
  self._header = false
  self.finished = false
  self.writable = true
  self.destroyed = false
  self.outputSize = 0
  self.req = req
  self.socket = req.socket
  if (kSocket !== undefined) self[kSocket] = req.socket
  self[kOutHeaders] = null
  self[kNeedDrain] = false
  for (let i = 0; i < NODE_FIELDS.length; i++) self[NODE_FIELDS[i]![0]] = NODE_FIELDS[i]![1]
  self[kCtx] = ctx
  self[kGiven] = null
  self[kState] = 0
  self[kOlder] = null
  self[kNewer] = null
  // Own properties: they survive a framework swapping this object's prototype for one that
  // inherits from node's http.ServerResponse.prototype (whose methods know only node's fields).
  const p = ServerResponse.prototype as any
  if (nodeOutHeaders === undefined) ownHeaderMethods(self)
  self.writeHead = p.writeHead
  self.write = p.write
  self.end = p.end
  self.flushHeaders = p.flushHeaders
  self.writeContinue = p.writeContinue
  self.setTimeout = p.setTimeout
  self.destroy = p.destroy
  self.cork = p.cork
  self.uncork = p.uncork
  self._implicitHeader = p._implicitHeader
}

/** What {@link responseClassOn} makes: `new` gives a response whose prototype is `proto`. */
export type ResponseClass = new (req: IncomingMessage, ctx: ResponseContext) => ServerResponse

/**
 * A constructor of responses whose prototype is `proto` from the start (an Express app's
 * `app.response`), with the fields of {@link ServerResponse}: see `requestClassOn` (incoming.ts).
 */
export function responseClassOn(proto: object): ResponseClass {
  function Response(this: ServerResponse, req: IncomingMessage, ctx: ResponseContext): void {
    Stream.call(this as never)
    initResponse(this, req, ctx)
    // No swap to pay for here: the header methods of this class as well (node's, which the
    // app's prototype has, lower-case each name anew: a new string, looked up in V8's string
    // table when used as a key; these keep the lower-cased names, see `lowerName`).
    if (nodeOutHeaders !== undefined) ownHeaderMethods(this)
    // The default ServerResponse keeps on its prototype, which `proto` does not inherit from.
    const self = this as any
    self.outputData = EMPTY_OUTPUT
  }
  Response.prototype = proto
  return Response as unknown as ResponseClass
}

/** 'finish' of the responses ended in a tick, in the next one; their 'close' in the tick after. */
const finishing = batched((res: ServerResponse) => ServerResponse._finish(res))
const closing = batched((res: ServerResponse) => res.emit('close'))

// `instanceof http.ServerResponse` holds, and what this class does not define comes from node's.
Object.setPrototypeOf(ServerResponse.prototype, http.ServerResponse.prototype)
/** The header methods of this class as own properties of `res` (they survive a swap). */
function ownHeaderMethods(res: ServerResponse): void {
  const p = ServerResponse.prototype
  const self = res as any
  self.setHeader = p.setHeader
  self.appendHeader = p.appendHeader
  self.getHeader = p.getHeader
  self.getHeaders = p.getHeaders
  self.getHeaderNames = p.getHeaderNames
  self.getRawHeaderNames = p.getRawHeaderNames
  self.hasHeader = p.hasHeader
  self.removeHeader = p.removeHeader
}
/** A trailer line as node's `addTrailers` writes it (`ERR_INVALID_CHAR` for a bad value). */
function trailerLine(field: string, value: unknown): string {
  const v = String(value)
  if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) {
    throw codedError(TypeError, 'ERR_INVALID_CHAR', `Invalid character in trailer content ["${field}"]`)
  }
  return `${field}: ${v}\r\n`
}

Object.defineProperties(ServerResponse.prototype, {
  _trailer: { value: '', writable: true, configurable: true },
  outputData: { value: EMPTY_OUTPUT, writable: true, configurable: true },
  writableObjectMode: { value: false, writable: true, configurable: true }
})
