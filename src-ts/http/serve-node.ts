/**
 * `serve()` on node:http, where io_uring is unavailable: the same options, the same server
 * object, the same `Request`/`Response` handling (real undici objects here).
 * @module
 */
import { promises as fsp } from 'node:fs'
import * as http from 'node:http'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BorosFile, range } from './file.js'
import { type FastParts, fastParts } from './light-response.js'
import { type HttpServer, requestOrigin, type ServeOptions, serverUrl } from './serve-types.js'

/** The connection of each `Request` handed to `fetch` (`requestIP`). */
const sockets = new WeakMap<Request, Socket>()

function toRequest(req: http.IncomingMessage, origin: string, signal: AbortSignal): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {}
  }
  const host = req.headers.host
  const url = /^https?:\/\//i.test(req.url ?? '') ? req.url! : `${host ? `http://${host}` : origin}${req.url}`
  const init: RequestInit & { duplex?: string } = { method: req.method, headers, signal }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = Readable.toWeb(req) as unknown as ReadableStream
    init.duplex = 'half'
  }
  const request = new Request(url, init)
  sockets.set(request, req.socket)
  return request
}

/** The standard reason phrase, whatever `statusText` says (Bun.serve's and Deno.serve's). */
function reasonOf(status: number): string {
  return http.STATUS_CODES[status] ?? ''
}

function mayHaveBody(status: number): boolean {
  return status !== 204 && status !== 304 && (status < 100 || status >= 200)
}

async function send(res: http.ServerResponse, response: Response): Promise<void> {
  const fast = fastParts(response)
  if (fast?.body instanceof BorosFile) return sendFile(res, fast, fast.body)
  const flat: string[] = []
  for (const [k, v] of response.headers) flat.push(k, v)
  const body = response.body
  if (body === null) {
    // Ended with no body: `Content-Length: 0` (HTTP/1.0 and HEAD included, as Bun and Deno;
    // node:http's writeHead() would fix a close-delimited head there).
    if (!response.headers.has('content-length') && mayHaveBody(response.status)) {
      flat.push('Content-Length', '0')
    }
    res.writeHead(response.status, reasonOf(response.status), flat)
    res.end()
    return
  }
  const reader = body.getReader()
  const first = await reader.read()
  const second = first.done ? first : await reader.read()
  if (second.done) {
    const bytes = first.done ? Buffer.alloc(0) : Buffer.from(first.value)
    if (!response.headers.has('content-length')) flat.push('Content-Length', String(bytes.length))
    res.writeHead(response.status, reasonOf(response.status), flat)
    res.end(bytes)
    return
  }
  res.writeHead(response.status, reasonOf(response.status), flat)
  res.write(first.value)
  let ok = res.write(second.value)
  for (;;) {
    if (!ok) {
      if (res.destroyed) {
        await reader.cancel()
        return
      }
      await new Promise<void>((resolve) => {
        res.once('drain', resolve)
        res.once('close', resolve)
      })
    }
    const next = await reader.read()
    if (next.done) break
    ok = res.write(next.value)
  }
  res.end()
}

/** A {@link BorosFile} body as the engine sends it: with its length, 404 when it is missing. */
async function sendFile(res: http.ServerResponse, f: FastParts, file: BorosFile): Promise<void> {
  const flat: string[] = []
  let typed = false
  let sized = false
  for (const k in f.headers ?? {}) {
    const name = k.toLowerCase()
    typed ||= name === 'content-type'
    sized ||= name === 'content-length'
    flat.push(name, String(f.headers![k]))
  }
  if (!typed && file.type !== '') flat.push('content-type', file.type)
  let fh: fsp.FileHandle
  try {
    fh = await fsp.open(file.path)
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ENOENT'
    const text = missing ? 'Not Found' : 'Internal Server Error'
    res.writeHead(missing ? 404 : 500, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': text.length })
    res.end(text)
    return
  }
  try {
    const [offset, length] = range((await fh.stat()).size, ...file._range)
    if (!sized) flat.push('content-length', String(length))
    res.writeHead(f.status, flat)
    if (length === 0 || res.req.method === 'HEAD') res.end()
    else await pipeline(fh.createReadStream({ start: offset, end: offset + length - 1, autoClose: false }), res)
  } finally {
    await fh.close()
  }
}

/** `serve()` on node:http. */
export function serveOnNode(opts: ServeOptions, hostname: string, port: number): HttpServer {
  let pending = 0
  const options: http.ServerOptions = { noDelay: true }
  for (const k of ['maxHeaderSize', 'headersTimeout', 'requestTimeout', 'keepAliveTimeout'] as const) {
    if (opts[k] !== undefined) (options as any)[k] = opts[k]
  }
  const onError = (err: unknown): Response | Promise<Response> => {
    if (opts.error !== undefined) {
      try {
        return opts.error(err)
      } catch (e) {
        err = e
      }
    }
    console.error(err)
    return new Response('Internal Server Error', { status: 500 })
  }
  let origin = ''
  // Timeouts checked as often as the engine checks them (node's default is every 30 s).
  const shortest = Math.min(
    opts.headersTimeout ?? 60_000,
    opts.requestTimeout || 300_000,
    opts.keepAliveTimeout || 5_000
  )
  ;(options as any).connectionsCheckingInterval = Math.max(25, Math.min(1000, Math.floor(shortest / 4)))
  const server = http.createServer(options, (req, res) => {
    pending++
    res.once('close', () => pending--)
    const cl = Number(req.headers['content-length'] ?? 0)
    if (opts.maxBodySize !== undefined && cl > opts.maxBodySize) {
      // As the engine answers it (node:http has no body limit of its own).
      req.socket.end('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n')
      return
    }
    const ac = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) ac.abort(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
    })
    let out: Response | Promise<Response>
    try {
      out = opts.fetch(toRequest(req, origin, ac.signal), api)
    } catch (err) {
      out = onError(err)
    }
    Promise.resolve(out)
      .then((r) => (r instanceof Response ? r : onError(new TypeError('fetch() did not return a Response'))))
      .catch(onError)
      .then((r) => send(res, r))
      .catch(() => res.destroy())
  })
  if (opts.maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = opts.maxRequestsPerSocket
  let boundPort = 0
  let boundHost = opts.unix ?? hostname
  const ready = new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.once('listening', () => {
      server.off('error', onError)
      const addr = server.address()
      if (typeof addr === 'object' && addr !== null) {
        boundPort = addr.port
        boundHost = addr.address
      }
      origin = requestOrigin(boundHost, boundPort, opts.unix)
      opts.onListen?.({ hostname: boundHost, port: boundPort })
      resolve()
    })
  })
  if (opts.unix !== undefined) server.listen(opts.unix)
  else server.listen({ port, host: hostname, reusePort: opts.reusePort } as any)
  let resolveFinished!: () => void
  const finished = new Promise<void>((r) => {
    resolveFinished = r
  })
  let stopping: Promise<void> | undefined
  const stop = (closeActive = false): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    }).then(resolveFinished)
    if (closeActive) server.closeAllConnections()
    return stopping
  }
  const api: HttpServer = {
    get port() {
      return boundPort
    },
    get hostname() {
      return boundHost
    },
    get url() {
      return serverUrl(origin || `http://${hostname}:${port}`, opts.unix)
    },
    ready,
    backend: 'node:http',
    get pendingRequests() {
      return pending
    },
    requestIP(request) {
      const s = sockets.get(request)
      if (s === undefined || s.destroyed || s.remoteAddress === undefined) return null
      return { address: s.remoteAddress, family: s.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4', port: s.remotePort! }
    },
    finished,
    stop,
    close: () => stop(),
    ref: () => void server.ref(),
    unref: () => void server.unref(),
    [Symbol.asyncDispose]: () => stop()
  }
  ready.then(() => server.on('error', (err) => console.error(err))).catch(() => {})
  if (opts.signal !== undefined) {
    if (opts.signal.aborted) queueMicrotask(() => stop())
    else opts.signal.addEventListener('abort', () => stop(), { once: true })
  }
  return api
}
