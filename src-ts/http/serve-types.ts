/**
 * The types of `serve()`: its options, its handler and the server it returns, shared by the
 * io_uring engine (`serve.ts`) and the node:http fallback (`serve-node.ts`).
 * @module
 */
import type { EngineOptions } from './engine-defs.js'
/** A `fetch` handler: `Response` or a promise of one. */
export type FetchHandler = (request: Request, server: HttpServer) => Response | Promise<Response>

/**
 * `serve()` options (Bun.serve / Deno.serve's shape, plus node:http's limits: the engine's own
 * options, with their defaults and docs, in `EngineOptions`).
 */
export interface ServeOptions
  extends Pick<
    EngineOptions,
    | 'reusePort'
    | 'maxHeaderSize'
    | 'headersTimeout'
    | 'requestTimeout'
    | 'keepAliveTimeout'
    | 'maxRequestsPerSocket'
    | 'maxBodySize'
  > {
  fetch: FetchHandler
  /** Port (default 3000, 0: any free port). */
  port?: number
  /** Address to bind: an IP address or `'localhost'` (default `'0.0.0.0'`). */
  hostname?: string
  /** A Unix socket path instead of TCP. */
  unix?: string
  /** Aborting it stops the server (as `stop()`). */
  signal?: AbortSignal
  /** Turns an error thrown by `fetch` into a response (default: 500, and the error logged). */
  error?: (error: unknown) => Response | Promise<Response>
  /** Called once listening (default: nothing is printed). */
  onListen?: (address: { hostname: string; port: number }) => void
  /**
   * Makes `globalThis.Response` boros/http's `LightResponse` (default true; as
   * `@hono/node-server` does): a `Response` built only when something looks inside it, which
   * `serve()` sends without building. `false` leaves the global alone.
   */
  overrideGlobalResponse?: boolean
}

/** A client's address (Bun's `SocketAddress` shape). */
export interface SocketAddressInfo {
  readonly address: string
  readonly family: 'IPv4' | 'IPv6'
  readonly port: number
}

/** What `serve()` returns (Bun.serve's and Deno.serve's server, together). */
export interface HttpServer {
  readonly port: number
  readonly hostname: string
  readonly url: URL
  /** `'io_uring'` (the boros engine) or `'node:http'` (the fallback). */
  readonly backend: 'io_uring' | 'node:http'
  /** Requests being answered. */
  readonly pendingRequests: number
  /**
   * The client's address of a request this server handed to `fetch` (Bun's `requestIP`):
   * `null` once its connection is closed, on a Unix socket, or for a `Request` that is not
   * one of this server's (a clone included).
   */
  requestIP(request: Request): SocketAddressInfo | null
  /**
   * Resolves once listening (at once on io_uring, where `serve()` binds synchronously; on the
   * node:http fallback `port`/`hostname`/`url` are known only then). Rejects with the listen
   * error on the fallback.
   */
  readonly ready: Promise<void>
  /** Resolves once the server stopped and its connections are closed. */
  readonly finished: Promise<void>
  /** Stops accepting; with `closeActiveConnections`, closes busy connections too. */
  stop(closeActiveConnections?: boolean): Promise<void>
  /** The same as `stop()`. */
  close(): Promise<void>
  ref(): void
  unref(): void
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * `server.url` as Bun.serve gives it: `http://host:port/` over TCP; for a Unix socket
 * `unix://<path>` (a path) or `abstract://<name>/` (an abstract name, `'\0name'`), which never
 * throws: a name a URL cannot hold as it is goes in percent-encoded.
 */
export function serverUrl(origin: string, unix: string | undefined): URL {
  if (unix === undefined) return new URL(`${origin}/`)
  const abstract = unix.charCodeAt(0) === 0
  const text = abstract ? `abstract://${unix.slice(1)}/` : `unix://${unix}`
  try {
    return new URL(text)
  } catch {
    const name = encodeURIComponent(abstract ? unix.slice(1) : unix)
    return new URL(abstract ? `abstract://${name}/` : `unix://${name}`)
  }
}

/**
 * The origin of a request's URL when it has no `Host` header (HTTP/1.0): the bound address over
 * TCP, `http://localhost` on a Unix socket (Bun gives a bare path there, Deno `http+unix://`).
 */
export function requestOrigin(host: string, port: number, unix: string | undefined): string {
  if (unix !== undefined) return 'http://localhost'
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
