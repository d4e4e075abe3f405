/**
 * What the HTTP engine's users see of it (the request record, the handlers, the options, the
 * `respond()` flags) and its tables: node:http's defaults, Node's codes for the protocol
 * errors a connection closes with. The engine itself is `./engine.ts`, which re-exports the
 * types and flags.
 * @module
 */
import { netErrno } from '../net/net-errors.js'
import * as wire from '../wire.js'

/**
 * Whether the running Node's llhttp takes a tab after a `Content-Length`'s digits: 9.4+ does
 * (Node 24.22, 26), 9.3 answers 400 (Node 20.20). Asked of the running Node's llhttp version.
 */
export const CONTENT_LENGTH_TAB = ((): boolean => {
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
   * call `Engine.upgrade` to take the socket, or respond (the connection closes after).
   */
  readonly upgrade: boolean
  /** `Expect: 100-continue` was sent (call `Engine.continue` before reading the body). */
  readonly expectContinue: boolean
  /**
   * The whole body when it arrived with the head (`Content-Length` framing). `null` when the
   * request has no body (`streaming` false) or when it follows in `onBody` (`streaming` true).
   */
  readonly body: Buffer | null
  /** True: the body follows in {@link EngineHandlers.onBody} chunks, then `null`. */
  readonly streaming: boolean
  /**
   * False until the engine's user has finished (or abandoned) this request's response, then
   * true: set by that user (`serve()`'s sink), never read by the engine. It lets a request's
   * `signal` made after the response went out stay unaborted.
   */
  answered: boolean
}

/** What the engine calls. All are called on the JS thread, from the ring's completion batch. */
export interface EngineHandlers {
  /** Request heads of one completion batch, in arrival order (one call per batch). */
  onRequests(reqs: RawRequest[]): void
  /**
   * A body chunk of request `seq` on `conn` (a view of the batch's Buffer), `null` = end; with
   * the end, a chunked body's trailer fields (flat name, value pairs as sent, node's
   * `rawTrailers`), `undefined` when there are none.
   */
  onBody(conn: number, seq: number, chunk: Buffer | null, trailers?: string[]): void
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
  /**
   * Whether a request with `Connection: upgrade` and `Upgrade` switches protocols (the engine
   * stops reading the connection; `Engine.upgrade` takes it). Default true; false makes it an
   * ordinary request (body and keep-alive as any other), as node:http takes one when its server
   * has no `'upgrade'` listener. `Engine.setUpgrades` changes it. A `CONNECT` always switches.
   */
  upgrades?: boolean
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
export const DEFAULTS = {
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
  [wire.HTTP_ERR_INVALID_EOF_STATE]: ['HPE_INVALID_EOF_STATE', 'Invalid EOF state'],
  [wire.HTTP_ERR_CR_EXPECTED]: ['HPE_CR_EXPECTED', 'Missing expected CR after header value'],
  [wire.HTTP_ERR_CR_EXPECTED_CHUNK]: ['HPE_CR_EXPECTED', 'Missing expected CR after chunk data'],
  [wire.HTTP_ERR_STRICT_CHUNK_END]: ['HPE_STRICT', 'Expected LF after chunk data'],
  [wire.HTTP_ERR_VERSION_LF]: ['HPE_INVALID_VERSION', 'Expected CRLF after version'],
  [wire.HTTP_ERR_HEADER_FIELD_LF]: ['HPE_INVALID_HEADER_TOKEN', 'Invalid header field char']
}

/** The error a close record's kind and errno stand for (null: an orderly close). */
const kPeerEnded = Symbol('peerEnded')

/**
 * Whether a close's error is the peer's orderly end with requests unanswered
 * (`HTTP_ERR_ABORTED`): their requests abort, but the socket had no error (node:http emits no
 * `clientError` for it).
 */
export function peerEnded(err: Error | null): boolean {
  return err !== null && (err as { [kPeerEnded]?: boolean })[kPeerEnded] === true
}

export function closeError(kind: number, errno: number): Error | null {
  if (kind === wire.HTTP_ERR_NONE) return null
  if (kind === wire.HTTP_ERR_ERRNO) return netErrno(errno, 'read')
  if (kind === wire.HTTP_ERR_ABORTED)
    return Object.assign(new Error('aborted'), { code: 'ECONNRESET', [kPeerEnded]: true })
  if (kind === wire.HTTP_ERR_REQUEST_TIMEOUT) {
    return Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })
  }
  if (kind === wire.HTTP_ERR_BODY_TOO_LARGE) {
    return Object.assign(new Error('Request body larger than maxBodySize'), { code: 'ERR_HTTP_BODY_TOO_LARGE' })
  }
  const [code, reason] = PARSE_ERRORS[kind] ?? ['HPE_INTERNAL', 'Internal error']
  return Object.assign(new Error(`Parse Error: ${reason}`), { code, reason })
}
