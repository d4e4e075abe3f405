/**
 * `serve({ fetch })`: the web-standard handler shape of `Bun.serve` and `Deno.serve` on the
 * boros HTTP engine: a `Request` in, a `Response` (or a promise of one) out, bodies streamed
 * both ways. Requests are {@link ServeRequest}s (a `Request` made lazily); a returned
 * `Response` is read without its stream when its body is a string or bytes (see
 * `response.ts`). Where io_uring is unavailable the same API runs on node:http.
 * @module
 */
import { usesRing } from '../binding.js'
import { Engine, type RawRequest } from './engine.js'
import { GlobalResponse, holdBodies, installLightResponse } from './light-response.js'
import { BodyChannel, type RequestContext, ServeRequest } from './request.js'
import { sendResponse, type ResponseSink } from './response.js'
import { serveOnNode } from './serve-node.js'
import { type FetchHandler, type HttpServer, requestOrigin, type ServeOptions, serverUrl } from './serve-types.js'

export type { FetchHandler, HttpServer, ServeOptions, SocketAddressInfo } from './serve-types.js'

const kChannels = Symbol('channels')

/** The reason of a request's `signal` when its connection closed first (node:http's `aborted`). */
function connectionGone(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
}

/** Serves HTTP/1.1 with `options.fetch` (or the handler given alone). */
export function serve(options: ServeOptions | FetchHandler): HttpServer {
  const opts: ServeOptions = typeof options === 'function' ? { fetch: options } : options
  if (typeof opts?.fetch !== 'function') {
    throw Object.assign(new TypeError('The "options.fetch" property must be of type function'), {
      code: 'ERR_INVALID_ARG_TYPE'
    })
  }
  if (opts.overrideGlobalResponse !== false) installLightResponse()
  let hostname = opts.hostname ?? '0.0.0.0'
  if (hostname === 'localhost') hostname = '127.0.0.1'
  const port = opts.port ?? 3000
  return usesRing() ? serveOnRing(opts, hostname, port) : serveOnNode(opts, hostname, port)
}

function serveOnRing(opts: ServeOptions, host: string, port: number): HttpServer {
  holdBodies()
  let engine!: Engine
  /**
   * Live requests (streamed bodies, upgrades) and streamed request bodies, by connection, then
   * by request. The connection tables are dictionary objects, not `Map`s: entries come and go
   * per request, and a `Map` churned that way chains its rehashed tables from old space
   * (docs/http.md, "Node 24's p99"). The inner `Map`s live no longer than their requests.
   */
  const live: Record<number, Map<number, ServeRequest> | undefined> = Object.create(null)
  const channels: Record<number, Map<number, BodyChannel> | undefined> = Object.create(null)
  let pending = 0
  let resolveFinished!: () => void
  const finished = new Promise<void>((r) => {
    resolveFinished = r
  })
  let stopping: Promise<void> | undefined

  const sink: ResponseSink = {
    respond: (r, status, head, flags, body, end) => engine.respondRaw(r.conn, r.seq, status, head, flags, body, end),
    write: (r, chunk, end) => engine.write(r.conn, r.seq, chunk, end),
    drain: (r) => new Promise<void>((resolve) => engine.onDrain(r.conn, resolve)),
    open: (r) => engine.isOpen(r.conn),
    sendFile: (r, fd, offset, length) => engine.sendFile(r.conn, r.seq, fd, offset, length, true),
    done: (r) => {
      pending--
      r.answered = true
      const m = live[r.conn]
      if (m !== undefined) {
        m.delete(r.seq)
        if (m.size === 0) delete live[r.conn]
      }
    }
  }

  /** Until its response is finished, `req` hears of its connection's close (`onClose`). */
  const track = (r: RawRequest, req: ServeRequest): void => {
    let m = live[r.conn]
    if (m === undefined) {
      m = new Map()
      live[r.conn] = m
    }
    m.set(r.seq, req)
  }

  const handle = (r: RawRequest): void => {
    pending++
    let channel: BodyChannel | undefined
    if (r.streaming) {
      channel = new BodyChannel((on) => (on ? engine.pause(r.conn) : engine.resume(r.conn)))
      let m = channels[r.conn]
      if (m === undefined) {
        m = new Map()
        channels[r.conn] = m
      }
      m.set(r.seq, channel)
    }
    if (r.expectContinue) engine.continue(r.conn)
    const req = new ServeRequest(r, ctx, channel)
    if (r.streaming || r.upgrade) track(r, req)
    let res: Response | Promise<Response>
    try {
      res = opts.fetch(req as unknown as Request, server)
    } catch (err) {
      res = onError(err)
    }
    // undici's class, not the global: `instanceof LightResponse` runs its `Symbol.hasInstance`
    // (a call per response) to say the same, and `sendResponse` asks undici's class anyway.
    if (res instanceof GlobalResponse) sendResponse(sink, r, res, onError)
    else
      Promise.resolve(res).then(
        (x) => sendResponse(sink, r, x, onError),
        (err) => sendResponse(sink, r, onError(err), onError)
      )
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

  engine = Engine.listenSync(
    {
      host,
      port,
      path: opts.unix,
      reusePort: opts.reusePort,
      maxHeaderSize: opts.maxHeaderSize,
      headersTimeout: opts.headersTimeout,
      requestTimeout: opts.requestTimeout,
      keepAliveTimeout: opts.keepAliveTimeout,
      maxRequestsPerSocket: opts.maxRequestsPerSocket,
      maxBodySize: opts.maxBodySize,
      // serve() has no upgrade API: an `Upgrade` request is an ordinary one (its body read).
      upgrades: false
    },
    {
      onRequests(reqs) {
        for (let i = 0; i < reqs.length; i++) handle(reqs[i]!)
      },
      onBody(conn, seq, chunk) {
        const m = channels[conn]
        const ch = m?.get(seq)
        if (ch === undefined) return
        ch.push(chunk)
        if (chunk === null) {
          m!.delete(seq)
          if (m!.size === 0) delete channels[conn]
        }
      },
      onClose(conn, err) {
        const e = err ?? connectionGone()
        const m = live[conn]
        if (m !== undefined) {
          delete live[conn]
          // A signal's reason is node:http's `aborted` whatever ended the connection (the
          // fallback's, from node:http's response 'close'); a body stream gets the cause.
          const gone = err === null || err.message === 'aborted' ? e : connectionGone()
          for (const req of m.values()) req.closed(gone, e)
        }
        const c = channels[conn]
        if (c !== undefined) {
          delete channels[conn]
          for (const ch of c.values()) ch.fail(e)
        }
      },
      onError(err) {
        console.error(err)
      }
    }
  )
  const addr = engine.address()
  const boundPort = typeof addr === 'string' ? 0 : addr.port
  const boundHost = typeof addr === 'string' ? addr : addr.address
  const ctx: RequestContext = {
    origin: requestOrigin(boundHost, boundPort, opts.unix),
    watch(r, req) {
      if (r.answered || live[r.conn]?.get(r.seq) === req) return
      if (engine.isOpen(r.conn)) track(r, req)
      else {
        const gone = connectionGone()
        req.closed(gone, gone)
      }
    }
  }

  const stop = (closeActive = false): Promise<void> => {
    if (stopping === undefined) {
      stopping = engine.close().then(resolveFinished)
    }
    if (closeActive) engine.closeAllConnections()
    return stopping
  }
  const server: HttpServer & { [kChannels]: unknown } = {
    [kChannels]: channels,
    port: boundPort,
    hostname: boundHost,
    url: serverUrl(ctx.origin, opts.unix),
    backend: 'io_uring',
    ready: Promise.resolve(),
    get pendingRequests() {
      return pending
    },
    requestIP(request) {
      const raw = ServeRequest.rawOf(request)
      const peer = raw === undefined ? undefined : engine.peer(raw.conn)
      if (peer === undefined || peer.remoteAddress === '') return null
      return {
        address: peer.remoteAddress,
        family: peer.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
        port: peer.remotePort
      }
    },
    finished,
    stop,
    close: () => stop(),
    ref: () => engine.ref(),
    unref: () => engine.unref(),
    [Symbol.asyncDispose]: () => stop()
  }
  if (opts.signal !== undefined) {
    if (opts.signal.aborted) queueMicrotask(() => stop())
    else opts.signal.addEventListener('abort', () => stop(), { once: true })
  }
  opts.onListen?.({ hostname: boundHost, port: boundPort })
  return server
}
