/**
 * The HTTP/1.1 engine of `boros/http`: requests parsed in the binding (httparse) on each
 * connection's multishot receive, handed to JS as a batch (one JS call per completion batch);
 * responses serialised natively into memory the ring owns and sent once per connection per
 * turn. `serve()` (`./serve.ts`) and `createServer()` (`./server.ts`) are built on it.
 *
 * Contract with its users (see docs/http.md, "Engine contract"):
 * - Framing is the engine's: `Content-Length` / `Transfer-Encoding: chunked` / close-delimited,
 *   `Date` (cached per second), `Connection` and `Keep-Alive` as node:http writes them, no body
 *   for HEAD and 1xx/204/304, pipelined responses kept in request order.
 * - Protocol errors (400, 431, 413, 408) are answered by the engine as node:http's default
 *   `clientError` does and reported through {@link EngineHandlers.onClose} with Node's code.
 * - Connection ids are not reused while the engine lives; after `onClose(conn)` every call
 *   naming `conn` is ignored (returns false / does nothing).
 * @module
 */
import { isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import { METHODS, STATUS_CODES } from 'node:http'
import { closeStream, openStream, ring } from '../binding.js'
import { ECONNRESET } from '../errno.js'
import { AbortError, codedError, systemError } from '../errors.js'
import { netErrno, withHostPort } from '../net/net-errors.js'
import { kAccepted, Socket } from '../net/socket.js'
import * as wire from '../wire.js'

/**
 * Whether the running Node's llhttp takes a tab after a `Content-Length`'s digits: 9.4+ does
 * (Node 24.22, 26), 9.3 answers 400 (Node 20.20). Asked of the running Node's llhttp version.
 */
const CONTENT_LENGTH_TAB = ((): boolean => {
  const [major, minor] = (process.versions.llhttp ?? '0.0').split('.').map(Number)
  return major > 9 || (major === 9 && minor >= 4)
})()

/** One parsed request head, delivered in a batch ({@link EngineHandlers.onRequests}). */
export interface RawRequest {
  /** Connection id (stable while the connection lives, never reused by this engine). */
  readonly conn: number
  /** Request number on that connection, from 0 (pipelining order; respond with it). */
  readonly seq: number
  readonly method: string
  /** The request-target as sent (latin1, as node:http decodes it). */
  readonly url: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: 0 | 1
  /** Flat `[name, value, ...]`, names as sent (node's `rawHeaders`). */
  readonly rawHeaders: string[]
  /** Whether the connection stays open after this request (version + `Connection` rules). */
  readonly keepAlive: boolean
  /**
   * An `Upgrade` (or `CONNECT`) request: the engine has stopped receiving on the connection;
   * call {@link Engine.upgrade} to take the socket, or respond (the connection closes after).
   */
  readonly upgrade: boolean
  /** `Expect: 100-continue` was sent (call {@link Engine.continue} before reading the body). */
  readonly expectContinue: boolean
  /**
   * The whole body when it arrived with the head (`Content-Length` framing). `null` when the
   * request has no body (`streaming` false) or when it follows in `onBody` (`streaming` true).
   */
  readonly body: Buffer | null
  /** True: the body follows in {@link EngineHandlers.onBody} chunks, then `null`. */
  readonly streaming: boolean
}

/** What the engine calls. All are called on the JS thread, from the ring's completion batch. */
export interface EngineHandlers {
  /** Request heads of one completion batch, in arrival order (one call per batch). */
  onRequests(reqs: RawRequest[]): void
  /** A body chunk of request `seq` on `conn` (a view of the batch's Buffer), `null` = end. */
  onBody(conn: number, seq: number, chunk: Buffer | null): void
  /**
   * The connection is gone (peer closed, reset, timeout, protocol error, `destroy`). `err` is
   * `null` for an orderly close; otherwise its `code` is Node's (`HPE_HEADER_OVERFLOW`,
   * `HPE_INVALID_HEADER_TOKEN`, `HPE_UNEXPECTED_CONTENT_LENGTH`, `ERR_HTTP_REQUEST_TIMEOUT`,
   * `ECONNRESET`...). Requests of `conn` not yet answered will never be.
   */
  onClose(conn: number, err: Error | null): void
  /** Listener-level errors (`EMFILE` on accept...). */
  onError?(err: Error): void
}

/** Listening and limits. Defaults are node:http's. */
export interface EngineOptions {
  /** TCP port (0: any). Ignored with `path`. */
  port?: number
  /** Address to bind (default `'::'`, falling back to `'0.0.0.0'`, like node). */
  host?: string
  reusePort?: boolean
  ipv6Only?: boolean
  backlog?: number
  /** A Unix socket path instead of TCP. */
  path?: string
  /** Bytes of request line + headers (as llhttp counts them); past it: 431. Default 16 KiB. */
  maxHeaderSize?: number
  /** ms from a request's first byte to the end of its head; past it: 408 + close. 60_000. */
  headersTimeout?: number
  /** ms from a request's first byte to the end of its body; past it: 408 + close. 300_000. */
  requestTimeout?: number
  /** ms an idle keep-alive connection is kept; then it is closed. 5_000. */
  keepAliveTimeout?: number
  /** Requests served per connection (0: unlimited); the last one gets `Connection: close`. */
  maxRequestsPerSocket?: number
  /** Largest request body in bytes (unlimited when unset); past it: 413 + close. */
  maxBodySize?: number
  /** High-water mark of a connection's unsent response bytes (`write` returns false). 64 KiB. */
  highWaterMark?: number
}

/** `respond()` flag: no automatic `Date` header (node's `res.sendDate = false`). */
export const RESPOND_NO_DATE = wire.HTTP_RESPOND_NO_DATE
/** `respond()` flag: `Connection: close`, and close the connection after this response. */
export const RESPOND_CLOSE = wire.HTTP_RESPOND_CLOSE
/**
 * `respond()` flag: add no `Content-Length` / `Transfer-Encoding` (the caller frames the body,
 * or the body ends with the connection, like node:http with both headers removed).
 */
export const RESPOND_NO_FRAMING = wire.HTTP_RESPOND_NO_FRAMING

/** A connection's addresses (node's `socket.remoteAddress`...). */
export interface PeerInfo {
  remoteAddress: string
  remotePort: number
  remoteFamily: string
  localAddress: string
  localPort: number
}

/** node:http's defaults. */
const DEFAULTS = {
  maxHeaderSize: 16384,
  headersTimeout: 60_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 5_000,
  maxRequestsPerSocket: 0,
  highWaterMark: 65536
}

/** Node's code and message for a close record's error kind. */
const PARSE_ERRORS: Record<number, [string, string]> = {
  [wire.HTTP_ERR_HEADER_OVERFLOW]: ['HPE_HEADER_OVERFLOW', 'Header overflow'],
  [wire.HTTP_ERR_INVALID_METHOD]: ['HPE_INVALID_METHOD', 'Invalid method encountered'],
  [wire.HTTP_ERR_INVALID_URL]: ['HPE_INVALID_URL', 'Invalid URL'],
  [wire.HTTP_ERR_INVALID_VERSION]: ['HPE_INVALID_VERSION', 'Invalid HTTP version'],
  [wire.HTTP_ERR_INVALID_HEADER_TOKEN]: ['HPE_INVALID_HEADER_TOKEN', 'Invalid header token'],
  [wire.HTTP_ERR_UNEXPECTED_CONTENT_LENGTH]: ['HPE_UNEXPECTED_CONTENT_LENGTH', 'Unexpected content-length header'],
  [wire.HTTP_ERR_INVALID_CONTENT_LENGTH]: ['HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length'],
  [wire.HTTP_ERR_INVALID_TRANSFER_ENCODING]: [
    'HPE_INVALID_TRANSFER_ENCODING',
    'Request has invalid `Transfer-Encoding`'
  ],
  [wire.HTTP_ERR_INVALID_CHUNK_SIZE]: ['HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size'],
  [wire.HTTP_ERR_LF_EXPECTED]: ['HPE_LF_EXPECTED', 'Expected LF'],
  [wire.HTTP_ERR_INVALID_CONSTANT]: ['HPE_INVALID_CONSTANT', 'Invalid constant string'],
  [wire.HTTP_ERR_CLOSED_CONNECTION]: ['HPE_CLOSED_CONNECTION', 'Data after `Connection: close`'],
  [wire.HTTP_ERR_INVALID_EOF_STATE]: ['HPE_INVALID_EOF_STATE', 'Invalid EOF state']
}

function closeError(kind: number, errno: number): Error | null {
  if (kind === wire.HTTP_ERR_NONE) return null
  if (kind === wire.HTTP_ERR_ERRNO) return netErrno(errno, 'read')
  if (kind === wire.HTTP_ERR_REQUEST_TIMEOUT) {
    return Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })
  }
  if (kind === wire.HTTP_ERR_BODY_TOO_LARGE) {
    return Object.assign(new Error('Request body larger than maxBodySize'), { code: 'ERR_HTTP_BODY_TOO_LARGE' })
  }
  const [code, reason] = PARSE_ERRORS[kind] ?? ['HPE_INTERNAL', 'Internal error']
  return Object.assign(new Error(`Parse Error: ${reason}`), { code, reason })
}

const EMPTY = Buffer.alloc(0)

/** Node's Buffer has `latin1Slice` (what `toString('latin1', …)` calls), untyped. */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string }

/** The flat headers as `Name: value\r\n` lines, and what they hold (`wire.HTTP_H_*`). */
function headerBlock(headers: readonly string[]): [string, number] {
  let lines = ''
  let hints = 0
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!
    const value = headers[i + 1]!
    lines += `${name}: ${value}\r\n`
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'date') hints |= wire.HTTP_H_DATE
        break
      case 10:
        if (name.toLowerCase() === 'connection') {
          hints |= wire.HTTP_H_CONNECTION
          if (/(^|,)\s*close\s*(,|$)/i.test(value)) hints |= wire.HTTP_H_CONN_CLOSE
        }
        break
      case 14:
        if (name.toLowerCase() === 'content-length') hints |= wire.HTTP_H_CONTENT_LENGTH
        break
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          hints |= wire.HTTP_H_TRANSFER_ENCODING
          if (/(^|,)\s*chunked\s*$/i.test(value)) hints |= wire.HTTP_H_TE_CHUNKED
        }
        break
    }
  }
  return [lines, hints]
}

type NativeBinding = ReturnType<typeof ring>

/**
 * One listening HTTP/1.1 server on the ring. Not usable on the fallback backend (`serve()` and
 * `createServer()` use node:http there and never call `Engine.listen`).
 */
export class Engine {
  #b: NativeBinding
  #srv: number
  #stream: number
  #h: EngineHandlers
  #address: { address: string; family: string; port: number } | string
  #sweep: NodeJS.Timeout
  #batch: RawRequest[] = []
  #after: Array<() => void> = []
  #scheduled = false
  #drains = new Map<number, Array<() => void>>()
  #heads = new Map<number, Buffer>()
  /** The file being sent on each connection (`sendFile`), settled by its record or the close. */
  #files = new Map<number, FileSend>()
  #closing: Promise<void> | undefined
  #closed: (() => void) | undefined
  #data: Buffer | undefined
  #words: Uint32Array | undefined

  private constructor(b: NativeBinding, fd: number, opts: EngineOptions, h: EngineHandlers) {
    this.#b = b
    this.#h = h
    const o = { ...DEFAULTS, ...definedOnly(opts) }
    this.#stream = openStream(this.#onEvent)
    this.#srv = b.httpListen(fd, this.#stream, {
      maxHeaderSize: o.maxHeaderSize,
      maxBodySize: opts.maxBodySize ?? -1,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout || 0x7fffffff,
      keepAliveTimeout: o.keepAliveTimeout,
      maxRequestsPerSocket: o.maxRequestsPerSocket,
      highWaterMark: o.highWaterMark,
      methods: METHODS,
      contentLengthTab: CONTENT_LENGTH_TAB
    })
    const local = b.socketAddress(fd, false)
    this.#address = opts.path !== undefined ? opts.path : (local ?? { address: '', family: '', port: 0 })
    const shortest = Math.min(o.headersTimeout, o.requestTimeout || Infinity, o.keepAliveTimeout || Infinity)
    const every = Math.max(25, Math.min(1000, Math.floor(shortest / 4)))
    this.#sweep = setInterval(() => this.#b.httpSweep(this.#srv), every)
    this.#sweep.unref()
  }

  /** Listens; rejects with node's listen errors (`EADDRINUSE`...). */
  static async listen(opts: EngineOptions, h: EngineHandlers): Promise<Engine> {
    if (opts.path === undefined && opts.host !== undefined && isIP(opts.host) === 0) {
      opts = { ...opts, host: (await lookup(opts.host)).address }
    }
    return Engine.listenSync(opts, h)
  }

  /**
   * Listens now (`host` must be an IP address or absent); throws node's listen errors.
   * @internal
   */
  static listenSync(opts: EngineOptions, h: EngineHandlers): Engine {
    const b = ring()
    const backlog = opts.backlog ?? 511
    if (opts.path !== undefined) {
      const r = b.unixListen(opts.path, backlog)
      if (r.fd < 0) throw withHostPort(r.errno, r.syscall === 'bind' ? 'listen' : r.syscall, opts.path, -1, true)
      return new Engine(b, r.fd, opts, h)
    }
    let host = opts.host ?? '::'
    const port = opts.port ?? 0
    let r = b.tcpListen(host, port, backlog, opts.ipv6Only ?? false, opts.reusePort ?? false)
    if (r.fd < 0 && opts.host === undefined && r.syscall === 'socket') {
      host = '0.0.0.0'
      r = b.tcpListen(host, port, backlog, false, opts.reusePort ?? false)
    }
    if (r.fd < 0) throw withHostPort(r.errno, r.syscall === 'bind' ? 'listen' : r.syscall, host, port, true)
    return new Engine(b, r.fd, opts, h)
  }

  #view(data: Buffer): Uint32Array {
    if (this.#data !== data) {
      this.#data = data
      this.#words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2)
    }
    return this.#words!
  }

  #onEvent = (result: number, data: Buffer | undefined, offset: number): void => {
    if (result < 0) {
      this.#h.onError?.(netErrno(result, 'accept'))
      return
    }
    const w = this.#view(data!)
    const at = offset >>> 2
    const kind = w[at]!
    const conn = w[at + 1]!
    if (kind === wire.HTTP_REC_REQUEST) {
      this.#request(data as Latin1, w, at, offset)
      return
    }
    let act: () => void
    if (kind === wire.HTTP_REC_BODY) {
      const seq = w[at + 2]!
      const chunk = data!.subarray(offset + 16, offset + 16 + w[at + 3]!)
      act = () => this.#h.onBody(conn, seq, chunk)
    } else if (kind === wire.HTTP_REC_BODY_END) {
      const seq = w[at + 2]!
      act = () => this.#h.onBody(conn, seq, null)
    } else if (kind === wire.HTTP_REC_DRAIN) {
      act = () => this.#drain(conn)
    } else if (kind === wire.HTTP_REC_FILE_DONE) {
      const status = w[at + 3]! | 0
      const bytes = w[at + 4]! + w[at + 5]! * 2 ** 32
      act = () => this.#fileDone(conn, status, bytes)
    } else if (kind === wire.HTTP_REC_CLOSE) {
      const err = closeError(w[at + 2]!, w[at + 3]! | 0)
      act = () => this.#close(conn, err)
    } else return
    if (this.#batch.length > 0) this.#after.push(act)
    else act()
  }

  #request(data: Latin1, w: Uint32Array, at: number, offset: number): void {
    const flags = w[at + 3]!
    const n = w[at + 6]!
    let p = offset + (wire.HTTP_REQ_WORDS + 2 * n) * 4
    const methodEnd = p + w[at + 4]!
    const method = data.latin1Slice(p, methodEnd)
    const urlEnd = methodEnd + w[at + 5]!
    const url = data.latin1Slice(methodEnd, urlEnd)
    p = urlEnd
    const rawHeaders: string[] = new Array(2 * n)
    for (let i = 0; i < 2 * n; i++) {
      const len = w[at + wire.HTTP_REQ_WORDS + i]!
      rawHeaders[i] = data.latin1Slice(p, p + len)
      p += len
    }
    const bodyLen = w[at + 7]!
    let body: Buffer | null = (flags & wire.HTTP_REQ_HAS_BODY) !== 0 ? data.subarray(p, p + bodyLen) : null
    const upgrade = (flags & wire.HTTP_REQ_UPGRADE) !== 0
    const conn = w[at + 1]!
    if (upgrade) {
      this.#heads.set(conn, body ?? EMPTY)
      body = null
    }
    this.#batch.push({
      conn,
      seq: w[at + 2]!,
      method,
      url,
      versionMinor: (flags & wire.HTTP_REQ_V11) !== 0 ? 1 : 0,
      rawHeaders,
      keepAlive: (flags & wire.HTTP_REQ_KEEP_ALIVE) !== 0,
      upgrade,
      expectContinue: (flags & wire.HTTP_REQ_EXPECT_CONTINUE) !== 0,
      body,
      streaming: (flags & wire.HTTP_REQ_STREAMING) !== 0
    })
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(this.#deliver)
    }
  }

  #deliver = (): void => {
    this.#scheduled = false
    const batch = this.#batch
    const after = this.#after
    this.#batch = []
    this.#after = []
    try {
      this.#h.onRequests(batch)
    } finally {
      for (const act of after) act()
    }
  }

  #drain(conn: number): void {
    const cbs = this.#drains.get(conn)
    if (cbs === undefined) return
    this.#drains.delete(conn)
    for (const cb of cbs) cb()
  }

  #fileDone(conn: number, status: number, bytes: number): void {
    const f = this.#files.get(conn)
    if (f === undefined) return
    this.#files.delete(conn)
    f.signal?.removeEventListener('abort', f.onAbort!)
    if (status === 0) f.resolve(bytes)
    else if (status === 1)
      f.reject(
        codedError(
          Error,
          'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
          `The file ended after ${bytes} of the ${f.length} byte(s) to send: the connection is closed`
        )
      )
    else f.reject(systemError(status, 'read'))
  }

  #close(conn: number, err: Error | null): void {
    const f = this.#files.get(conn)
    if (f !== undefined) this.#fileDone(conn, ECONNRESET, 0)
    this.#heads.delete(conn)
    this.#drain(conn)
    this.#h.onClose(conn, err)
    // After the rest of the batch's records (a close of another connection may be among them).
    if (this.#closed !== undefined) queueMicrotask(this.#maybeFinish)
  }

  #maybeFinish = (): void => {
    if (this.#closed !== undefined && this.#b.httpConnections(this.#srv) === 0) this.#finish()
  }

  #finish(): void {
    clearInterval(this.#sweep)
    closeStream(this.#stream)
    const done = this.#closed
    this.#closed = undefined
    done?.()
  }

  /** The bound address (node's `server.address()`), or the socket path. */
  address(): { address: string; family: string; port: number } | string {
    return this.#address
  }

  /** The addresses of connection `conn` (undefined once closed). */
  peer(conn: number): PeerInfo | undefined {
    const fd = this.#b.httpConnFd(this.#srv, conn)
    if (fd < 0) return undefined
    const r = this.#b.socketAddress(fd, true)
    const l = this.#b.socketAddress(fd, false)
    return {
      remoteAddress: r?.address ?? '',
      remotePort: r?.port ?? 0,
      remoteFamily: r?.family ?? '',
      localAddress: l?.address ?? '',
      localPort: l?.port ?? 0
    }
  }

  /** Whether connection `conn` is still open. */
  isOpen(conn: number): boolean {
    return this.#b.httpConnFd(this.#srv, conn) >= 0
  }

  /** Open connections. */
  get connections(): number {
    return this.#b.httpConnections(this.#srv)
  }

  /**
   * Status line + headers (flat `[name, value, ...]`; values already validated by the caller)
   * and optionally body bytes, and the end when `end`. Serialised natively; leaves with the
   * connection's one send this turn (after the responses of earlier requests). Returns false
   * when the connection's unsent bytes passed the high-water mark (wait for `onDrain`).
   */
  respond(
    conn: number,
    seq: number,
    status: number,
    reason: string | undefined,
    headers: readonly string[],
    body: Buffer | Uint8Array | string | null,
    end: boolean,
    flags = 0
  ): boolean {
    const [lines, hints] = headerBlock(headers)
    const head = `${reason ?? STATUS_CODES[status] ?? 'unknown'}\r\n${lines}`
    return this.#b.httpRespond(this.#srv, conn, seq, status, head, flags | hints, body, end)
  }

  /**
   * The same as {@link respond} with the header lines already made (`Name: value\r\n` each)
   * and their hints (`wire.HTTP_H_*`): `serve()`'s fast path.
   * @internal
   */
  respondRaw(
    conn: number,
    seq: number,
    status: number,
    head: string,
    flags: number,
    /** `object`: a held body's handle (`HeldBody` in light-response.ts). */
    body: Buffer | Uint8Array | string | object | null,
    end: boolean
  ): boolean {
    return this.#b.httpRespond(this.#srv, conn, seq, status, head, flags, body, end)
  }

  /** More body (chunk-encoded when the response is chunked); `end` finishes it. */
  write(conn: number, seq: number, chunk: Buffer | Uint8Array | string, end: boolean): boolean {
    return this.#b.httpWrite(this.#srv, conn, seq, chunk, end)
  }

  /** `cb` once the connection's unsent bytes fall below the high-water mark (or it closed). */
  onDrain(conn: number, cb: () => void): void {
    if (!this.#b.httpWantDrain(this.#srv, conn)) {
      queueMicrotask(cb)
      return
    }
    const cbs = this.#drains.get(conn)
    if (cbs === undefined) this.#drains.set(conn, [cb])
    else cbs.push(cb)
  }

  /**
   * `length` bytes of file descriptor `fd` from `offset` as the body of response `seq` (its
   * head already written with `respond(..., end = false)`), read on the ring into memory the
   * engine owns and sent from there: JS never touches the bytes. Ends the response when `end`
   * (default true). Resolves with the bytes sent once the range is queued for sending. `fd`
   * must stay open until then.
   *
   * Rejects (and the connection closes after what was queued, as the response cannot be
   * completed) with the read's system error (`EBADF`, `EISDIR`...), with
   * `ERR_HTTP_CONTENT_LENGTH_MISMATCH` when the file ends before `length` bytes, with
   * `ECONNRESET` when the connection closes first, and with `AbortError` when `signal` aborts
   * (the connection is destroyed). Throws `ERR_INVALID_STATE` when the response is not open
   * for body bytes or another file is being sent on the connection.
   */
  sendFile(
    conn: number,
    seq: number,
    fd: number,
    offset: number,
    length: number,
    end = true,
    signal?: AbortSignal
  ): Promise<number> {
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
    if (!this.#b.httpSendFile(this.#srv, conn, seq, fd, offset, length, end))
      return Promise.reject(
        codedError(Error, 'ERR_INVALID_STATE', 'boros/http: this response cannot take a file body now')
      )
    return new Promise<number>((resolve, reject) => {
      const f: FileSend = { length, resolve, reject, signal }
      if (signal !== undefined) {
        f.onAbort = () => {
          this.#files.delete(conn)
          reject(new AbortError(undefined, { cause: signal.reason }))
          this.destroy(conn)
        }
        signal.addEventListener('abort', f.onAbort, { once: true })
      }
      this.#files.set(conn, f)
    })
  }

  /** Writes `HTTP/1.1 100 Continue` for the connection's current request. */
  continue(conn: number): void {
    this.#b.httpContinue(this.#srv, conn)
  }

  /** Stops receiving on `conn` (request body backpressure); `resume` starts again. */
  pause(conn: number): void {
    this.#b.httpPause(this.#srv, conn, true)
  }

  resume(conn: number): void {
    this.#b.httpPause(this.#srv, conn, false)
  }

  /**
   * Takes an upgrade request's connection out of the engine: a `boros/net` Socket on its
   * descriptor, and the bytes received after the head.
   */
  upgrade(conn: number, _seq: number): { socket: Socket; head: Buffer } {
    const fd = this.#b.httpDetach(this.#srv, conn)
    if (fd < 0)
      throw Object.assign(new Error('boros/http: this connection cannot be upgraded now'), {
        code: 'ERR_INVALID_STATE'
      })
    const head = this.#heads.get(conn) ?? EMPTY
    this.#heads.delete(conn)
    const socket = new Socket({ [kAccepted]: [fd, false], allowHalfOpen: true } as any)
    return { socket, head }
  }

  /** Closes `conn` now (unsent bytes are dropped); `onClose(conn, null)` follows. */
  destroy(conn: number): void {
    this.#b.httpDestroy(this.#srv, conn)
  }

  /** Stops accepting; idle connections close, busy ones close after their response. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = new Promise<void>((resolve) => {
        this.#closed = resolve
      })
      if (this.#b.httpClose(this.#srv) === 0) this.#finish()
    }
    return this.#closing
  }

  closeAllConnections(): void {
    this.#b.httpCloseConnections(this.#srv, true)
  }

  closeIdleConnections(): void {
    this.#b.httpCloseConnections(this.#srv, false)
  }

  /** Whether the listener keeps the process alive (connections always do). */
  ref(): void {
    this.#b.httpRef(this.#srv, true)
  }

  unref(): void {
    this.#b.httpRef(this.#srv, false)
  }
}

/** A `sendFile` in progress. */
interface FileSend {
  length: number
  resolve: (bytes: number) => void
  reject: (err: Error) => void
  signal: AbortSignal | undefined
  onAbort?: () => void
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] !== undefined) out[k] = o[k]
  return out
}
