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
import { METHODS } from 'node:http'
import { closeStream, openStream, ring } from '../binding.js'
import { ECONNRESET } from '../errno.js'
import { AbortError, codedError, systemError } from '../errors.js'
import { netErrno, withHostPort } from '../net/net-errors.js'
import { acceptOptions, kAccepted, Socket } from '../net/socket.js'
import * as wire from '../wire.js'
import {
  CONTENT_LENGTH_TAB,
  closeError,
  DEFAULTS,
  type EngineHandlers,
  type EngineOptions,
  type PeerInfo,
  type RawRequest
} from './engine-defs.js'
import { headString, type Latin1 } from './engine-strings.js'
import { responseHead } from './head-lines.js'
import { queueInit, queueRespond } from './respond-queue.js'

export type { EngineHandlers, EngineOptions, PeerInfo, RawRequest } from './engine-defs.js'
export { RESPOND_CLOSE, RESPOND_NO_DATE, RESPOND_NO_FRAMING } from './engine-defs.js'

const EMPTY = Buffer.alloc(0)
/** The options of an upgraded connection's `Socket` (half-open allowed, as node:http's upgrade sockets). */
const UPGRADED = acceptOptions({ allowHalfOpen: true })

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
  // Per-connection state set and deleted per request (a write under backpressure, a file
  // body, an upgrade) lives in dictionary objects keyed by connection id, not `Map`s: a `Map`
  // churned once per request chains its rehashed tables from old space and makes every
  // scavenge promote what they hold (docs/http.md, "Node 24's p99"; bench/extra/map-churn.mjs).
  /** Callbacks waiting for a connection's drain record (`onDrain`). */
  #drains: Record<number, Array<() => void> | undefined> = Object.create(null)
  /** Bytes received after an upgrade request's head, until `upgrade` takes them. */
  #heads: Record<number, Buffer | undefined> = Object.create(null)
  /** The file being sent on each connection (`sendFile`), settled by its record or the close. */
  #files: Record<number, FileSend | undefined> = Object.create(null)
  #closing: Promise<void> | undefined
  #closed: (() => void) | undefined
  #data: Buffer | undefined
  #words: Uint32Array | undefined

  private constructor(b: NativeBinding, fd: number, opts: EngineOptions, h: EngineHandlers) {
    this.#b = b
    this.#h = h
    const o = { ...DEFAULTS, ...definedOnly(opts) }
    this.#stream = openStream(this.#onEvent)
    queueInit(b)
    this.#srv = b.httpListen(fd, this.#stream, {
      maxHeaderSize: o.maxHeaderSize,
      maxBodySize: opts.maxBodySize ?? -1,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout || 0x7fffffff,
      keepAliveTimeout: o.keepAliveTimeout,
      maxRequestsPerSocket: o.maxRequestsPerSocket,
      highWaterMark: o.highWaterMark,
      methods: METHODS,
      contentLengthTab: CONTENT_LENGTH_TAB,
      upgrades: opts.upgrades ?? true
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
      const n = w[at + 3]!
      if (n === 0) act = () => this.#h.onBody(conn, seq, null)
      else {
        // Trailer fields: 2n lengths, then the bytes (Latin-1, as node's parser reads them).
        const trailers: string[] = new Array(2 * n)
        let p = offset + (4 + 2 * n) * 4
        for (let i = 0; i < 2 * n; i++) {
          const len = w[at + 4 + i]!
          trailers[i] = (data as Latin1).latin1Slice(p, p + len)
          p += len
        }
        act = () => this.#h.onBody(conn, seq, null, trailers)
      }
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
    // The method as one of node's `http.METHODS` strings when it is one (no string per request).
    const known = flags >>> wire.HTTP_REQ_METHOD_SHIFT
    const method = known !== 0 ? METHODS[known - 1]! : data.latin1Slice(p, methodEnd)
    const urlEnd = methodEnd + w[at + 5]!
    const url = headString(data, methodEnd, urlEnd)
    p = urlEnd
    const rawHeaders: string[] = new Array(2 * n)
    for (let i = 0; i < 2 * n; i++) {
      const len = w[at + wire.HTTP_REQ_WORDS + i]!
      rawHeaders[i] = headString(data, p, p + len)
      p += len
    }
    const bodyLen = w[at + 7]!
    let body: Buffer | null = (flags & wire.HTTP_REQ_HAS_BODY) !== 0 ? data.subarray(p, p + bodyLen) : null
    const upgrade = (flags & wire.HTTP_REQ_UPGRADE) !== 0
    const conn = w[at + 1]!
    if (upgrade) {
      this.#heads[conn] = body ?? EMPTY
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
      streaming: (flags & wire.HTTP_REQ_STREAMING) !== 0,
      answered: false
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
    const cbs = this.#drains[conn]
    if (cbs === undefined) return
    delete this.#drains[conn]
    for (const cb of cbs) cb()
  }

  #fileDone(conn: number, status: number, bytes: number): void {
    const f = this.#files[conn]
    if (f === undefined) return
    delete this.#files[conn]
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
    if (this.#files[conn] !== undefined) this.#fileDone(conn, ECONNRESET, 0)
    delete this.#heads[conn]
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
    const [head, hints] = responseHead(status, reason, headers)
    // An ended response reports no backpressure: queued (no native call), when it can be.
    if (end && queueRespond(this.#srv, conn, seq, status, head, flags | hints, body)) return true
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
    if (end && queueRespond(this.#srv, conn, seq, status, head, flags, body)) return true
    return this.#b.httpRespond(this.#srv, conn, seq, status, head, flags, body, end)
  }

  /** More body (chunk-encoded when the response is chunked); `end` finishes it. */
  write(conn: number, seq: number, chunk: Buffer | Uint8Array | string, end: boolean): boolean {
    return this.#b.httpWrite(this.#srv, conn, seq, chunk, end)
  }

  /** Trailer lines for response `seq` (latin1, validated), sent at its end if its body is chunked. */
  trailers(conn: number, seq: number, lines: string): void {
    this.#b.httpTrailers(this.#srv, conn, seq, Buffer.from(lines, 'latin1'))
  }

  /** `cb` once the connection's unsent bytes fall below the high-water mark (or it closed). */
  onDrain(conn: number, cb: () => void): void {
    if (!this.#b.httpWantDrain(this.#srv, conn)) {
      queueMicrotask(cb)
      return
    }
    const cbs = this.#drains[conn]
    if (cbs === undefined) this.#drains[conn] = [cb]
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
          delete this.#files[conn]
          reject(new AbortError(undefined, { cause: signal.reason }))
          this.destroy(conn)
        }
        signal.addEventListener('abort', f.onAbort, { once: true })
      }
      this.#files[conn] = f
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
    const head = this.#heads[conn] ?? EMPTY
    delete this.#heads[conn]
    const socket = new Socket(UPGRADED, kAccepted, fd, false)
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

  /** Whether `Upgrade` requests switch protocols from now on (`EngineOptions.upgrades`). */
  setUpgrades(upgrades: boolean): void {
    this.#b.httpSetUpgrades(this.#srv, upgrades)
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
