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
import type { Socket } from '../net/socket.js'

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

/** `respond()` flags. */
export const RESPOND_NO_DATE = 1
/** `respond()` flag: `Connection: close`, and close the connection after this response. */
export const RESPOND_CLOSE = 2
/**
 * `respond()` flag: add no `Content-Length` / `Transfer-Encoding` (the caller frames the body,
 * or the body ends with the connection, like node:http with both headers removed).
 */
export const RESPOND_NO_FRAMING = 4

/** A connection's addresses (node's `socket.remoteAddress`...). */
export interface PeerInfo {
  remoteAddress: string
  remotePort: number
  remoteFamily: string
  localAddress: string
  localPort: number
}

/**
 * One listening HTTP/1.1 server on the ring. Not usable on the fallback backend (`serve()` and
 * `createServer()` use node:http there and never call `Engine.listen`).
 */
export declare class Engine {
  /** Listens; rejects with node's listen errors (`EADDRINUSE`...). */
  static listen(opts: EngineOptions, h: EngineHandlers): Promise<Engine>
  /** The bound address (node's `server.address()`), or the socket path. */
  address(): { address: string; family: string; port: number } | string
  /** The addresses of connection `conn` (undefined once closed). */
  peer(conn: number): PeerInfo | undefined
  /** Open connections. */
  readonly connections: number
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
    flags?: number
  ): boolean
  /** More body (chunk-encoded when the response is chunked); `end` finishes it. */
  write(conn: number, seq: number, chunk: Buffer | Uint8Array | string, end: boolean): boolean
  /** `cb` once the connection's unsent bytes fall below the high-water mark (or it closed). */
  onDrain(conn: number, cb: () => void): void
  /**
   * `length` bytes of file descriptor `fd` from `offset` as body of response `seq` (its head
   * already sent with `respond(..., end = false)`); ends the response when `end` (default true).
   */
  sendFile(conn: number, seq: number, fd: number, offset: number, length: number, end?: boolean): Promise<void>
  /** Writes `HTTP/1.1 100 Continue` for the connection's current request. */
  continue(conn: number): void
  /** Stops receiving on `conn` (request body backpressure); `resume` starts again. */
  pause(conn: number): void
  resume(conn: number): void
  /**
   * Takes an upgrade request's connection out of the engine: a `boros/net` Socket on its
   * descriptor, and the bytes received after the head.
   */
  upgrade(conn: number, seq: number): { socket: Socket; head: Buffer }
  /** Closes `conn` now (unsent bytes are dropped); `onClose(conn, null)` follows. */
  destroy(conn: number): void
  /** Stops accepting; idle connections close, busy ones close after their response. */
  close(): Promise<void>
  closeAllConnections(): void
  closeIdleConnections(): void
  /** Whether the listener keeps the process alive (connections always do). */
  ref(): void
  unref(): void
}
