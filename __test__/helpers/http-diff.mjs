// The HTTP differential suite's machinery: server factories (node:http itself is the
// specification; the targets are node:http on boros/net sockets, and boros/http's
// createServer/serve once they exist), one application every server runs, the clients (undici
// fetch, http.request, curl, raw sockets), and the normalisation that makes two servers'
// answers comparable (Date removed, everything else byte for byte).
//
// A server factory: `async (handler, options) => Server`, with
//   Server = { name, port, close(): Promise<void>, events: string[] }
// `options` are node:http's server options (headersTimeout, requestTimeout, keepAliveTimeout,
// maxHeaderSize, connectionsCheckingInterval...). `events` records what the server saw that a
// client cannot (clientError codes), so that it is compared too.
import fs from 'node:fs'
import http from 'node:http'
import * as nodeNet from 'node:net'
import { spawn, spawnSync } from 'node:child_process'
import { Agent, fetch as undiciFetch } from 'undici'

const DIST = new URL('../../dist/', import.meta.url)

/** Wires the events a test compares (clientError codes, as node:http reports them). */
function watch(server, events) {
  server.on('clientError', (err, socket) => {
    events.push(`clientError ${err.code}`)
    // node:http's default answer when nobody listens (its socketOnError, Node 20 and 24): the
    // answer only while no response to this socket has sent its head, then destroy. With a
    // listener it is ours to give, so this one gives exactly node's.
    if (socket.writable && !socket._httpMessage?._headerSent) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request'
      socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`)
    }
    socket.destroy(err)
  })
}

/** Server settings node:http takes as properties only (Node 20 ignores them as options). */
function props(server, options) {
  if (options.maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = options.maxRequestsPerSocket
}

/** node:http listening itself (libuv): the specification. */
export async function nodeHttp(handler, options = {}) {
  const events = []
  const server = http.createServer(options, handler)
  props(server, options)
  watch(server, events)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    name: 'node:http',
    port: server.address().port,
    events,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(() => resolve()))
    }
  }
}

let borosNet
async function loadBorosNet() {
  borosNet ??= await import(new URL('net/index.js', DIST).href)
  return borosNet
}

/** node:http fed boros/net sockets (`emit('connection')`: the pattern docs/net.md teaches). */
export async function nodeHttpOnBorosNet(handler, options = {}) {
  const net = await loadBorosNet()
  const events = []
  const hs = http.createServer(options, handler)
  props(hs, options)
  watch(hs, events)
  // An http.Server that never listens has no connection tracking (node:http starts it on
  // 'listening'): closeAllConnections() does nothing there, so the sockets are tracked here.
  const sockets = new Set()
  const srv = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    hs.emit('connection', s)
  })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return {
    name: `node:http on boros/net (${net.backend})`,
    port: srv.address().port,
    events,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => srv.close(() => resolve()))
    }
  }
}

/**
 * boros/http's createServer, when this build has it (dist/http/index.js exporting createServer).
 * Returns null when it does not exist yet (the tests then say skipped, with the reason).
 */
export async function borosCreateServerFactory() {
  const url = new URL('http/index.js', DIST)
  if (!fs.existsSync(url)) return null
  const mod = await import(url.href)
  if (typeof mod.createServer !== 'function') return null
  const factory = async (handler, options = {}) => {
    const events = []
    const server = mod.createServer(options, handler)
    props(server, options)
    watch(server, events)
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {
      name: `boros/http createServer (${mod.backend ?? '?'})`,
      backend: mod.backend,
      port: server.address().port,
      events,
      close: async () => {
        server.closeAllConnections?.()
        await new Promise((resolve) => server.close(() => resolve()))
      }
    }
  }
  // On the fallback backend createServer() is node:http's own: the engine is not what runs.
  factory.backend = mod.backend
  return factory
}

// ------------------------------------------------------------------ the app --

const JSON_1K = { items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b'] })) }

/** The application every server runs: each route exercises one part of req/res. */
/** What /lifecycle saw, by server port (the tests run concurrently). */
const lifecycles = new Map()
/** /hang's handler has run, by server port (viaDisconnect waits for it before it goes away). */
const seen = new Map()
function hangSeen(port) {
  let e = seen.get(port)
  if (e === undefined) {
    e = {}
    e.promise = new Promise((resolve) => {
      e.resolve = resolve
    })
    seen.set(port, e)
  }
  return e
}

export function app(req, res) {
  const url = new URL(req.url, 'http://x')
  const p = url.pathname
  if (p === '/') {
    res.setHeader('content-type', 'text/plain')
    res.end('hello')
  } else if (p === '/json') {
    const body = JSON.stringify(JSON_1K)
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  } else if (p === '/echo') {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      res.statusCode = 201
      res.setHeader('content-type', req.headers['content-type'] ?? 'application/octet-stream')
      res.setHeader('x-body-length', String(body.length))
      res.end(body)
    })
  } else if (p === '/trailers-in') {
    // Request trailers: node fills `trailers` / `rawTrailers` at the body's end; `?early` reads
    // the lazy getter first (an empty object node then fills in place).
    const early = url.searchParams.has('early') ? JSON.stringify(req.trailers) : undefined
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          early,
          body: Buffer.concat(chunks).toString(),
          trailers: req.trailers,
          rawTrailers: req.rawTrailers,
          complete: req.complete
        })
      )
    })
  } else if (p === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    // One write per turn: Node 24 joins a write and an end of the same turn into one chunk
    // (Node 20 does not); chunk boundaries are transport detail, the turns keep them stable.
    res.write('one,')
    setImmediate(() => {
      res.write('two,')
      setImmediate(() => res.end('three'))
    })
  } else if (p === '/request') {
    // What the server saw: IncomingMessage's fields (duplicate headers joined as Node joins them).
    const port = /:\d+$/
    const body = JSON.stringify({
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      httpVersionMajor: req.httpVersionMajor,
      httpVersionMinor: req.httpVersionMinor,
      // The Host header names the server's port, which differs between the two servers.
      headers: { ...req.headers, host: req.headers.host?.replace(port, ':<port>') },
      // node's lazy getters (boros/http's request inherits them and feeds them node's fields).
      headersDistinct: {
        ...req.headersDistinct,
        host: req.headersDistinct.host?.map((h) => h.replace(port, ':<port>'))
      },
      trailers: req.trailers,
      rawHeaders: req.rawHeaders.map((v, i, a) =>
        i % 2 === 1 && /^host$/i.test(a[i - 1]) ? v.replace(port, ':<port>') : v
      ),
      complete: req.complete
    })
    res.setHeader('content-type', 'application/json')
    res.end(body)
  } else if (p.startsWith('/status/')) {
    res.statusCode = Number(p.slice(8))
    res.end(res.statusCode === 204 || res.statusCode === 304 ? undefined : `status ${res.statusCode}`)
  } else if (p === '/headers') {
    res.setHeader('Set-Cookie', ['a=1', 'b=2'])
    res.setHeader('X-Number', 42)
    res.appendHeader?.('x-multi', 'one')
    res.appendHeader?.('x-multi', 'two')
    res.writeHead(200, 'Fine', ['X-Array', 'first', 'content-type', 'text/plain'])
    res.end(`names ${JSON.stringify(res.getHeaderNames?.() ?? [])}`)
  } else if (p === '/swapped') {
    // As Express does: both prototypes swapped for objects that inherit from node's; what node's
    // methods and getters then see must be what they see on node's own objects.
    Object.setPrototypeOf(req, Object.create(http.IncomingMessage.prototype))
    Object.setPrototypeOf(res, Object.create(http.ServerResponse.prototype))
    res.setHeader('Content-Type', 'text/plain')
    res.appendHeader('X-Multi', 'one')
    res.appendHeader('x-multi', 'two')
    res.setHeader('X-Gone', '1')
    res.removeHeader('x-gone')
    const seen = {
      statusCode: res.statusCode,
      statusMessage: res.statusMessage ?? null,
      headersSent: res.headersSent,
      writableEnded: res.writableEnded,
      writableLength: res.writableLength,
      writableObjectMode: res.writableObjectMode,
      writableHighWaterMark: typeof res.writableHighWaterMark,
      writableNeedDrain: res.writableNeedDrain,
      connection: res.connection === res.socket,
      contentType: res.getHeader('content-type'),
      has: [res.hasHeader('X-MULTI'), res.hasHeader('x-gone')],
      names: res.getHeaderNames(),
      raw: res.getRawHeaderNames(),
      headers: { ...res.getHeaders() },
      req: [req.method, req.url, req.complete, !!req.aborted, !!req.upgrade, req.headers['x-one'] ?? null]
    }
    res.statusCode = 202
    res.end(JSON.stringify(seen))
  } else if (p === '/no-date') {
    // node's removeHeader('date') turns the Date header off (sendDate = false).
    res.removeHeader('Date')
    res.end(`sendDate ${res.sendDate}`)
  } else if (p === '/close') {
    res.setHeader('connection', 'close')
    res.end('bye')
  } else if (p === '/write-head-object') {
    // writeHead() with an object and nothing set before: the pairs as given, the table empty.
    res.writeHead(200, { 'X-A': '1', 'X-N': 42, 'Set-Cookie': ['a=1', 'b=2'] })
    res.end(JSON.stringify({ a: res.getHeader('x-a') ?? null, has: res.hasHeader('x-n'), names: res.getHeaderNames() }))
  } else if (p === '/write-head-invalid') {
    let code
    try {
      res.writeHead(200, { 'X-Ok': '1', 'Bad Name': 'x' })
    } catch (err) {
      code = err.code
    }
    try {
      res.writeHead(201, { 'X-V': 'a\nb' })
    } catch (err) {
      code += ` ${err.code}`
    }
    try {
      res.writeHead(202, { 'X-U': undefined })
    } catch (err) {
      code += ` ${err.code}`
    }
    res.end(`${code} ${res.headersSent}`)
  } else if (p === '/late-read') {
    // A body-less request read only after the handler returned: it still ends.
    setTimeout(() => {
      req.on('end', () => res.end('ended late'))
      req.resume()
    }, 5)
  } else if (p === '/lifecycle') {
    // The events of a body-less request and of its response, each in order (read by
    // /lifecycle-log; how the two interleave is tick detail that differs between Nodes).
    const lifecycle = { req: [], res: [] }
    lifecycles.set(req.socket.localPort, lifecycle)
    req.on('end', () => lifecycle.req.push('end'))
    req.on('close', () => lifecycle.req.push('close'))
    res.on('finish', () => lifecycle.res.push('finish'))
    res.on('close', () => lifecycle.res.push(`close (the socket let go of it: ${req.socket._httpMessage == null})`))
    res.end('ok')
  } else if (p === '/lifecycle-log') {
    res.end(JSON.stringify(lifecycles.get(req.socket.localPort)))
  } else if (p === '/hang' || p === '/hang-stream') {
    // Answered late, after the client of viaDisconnect has gone: what the request and the
    // response go through, each in order, read by /hang-log. "Late" is once the response has
    // closed (node: at the client's end or reset), or after 300 ms where it does not close.
    const log = { req: [], res: [], late: [] }
    let done
    const settled = new Promise((resolve) => {
      done = resolve
    })
    lifecycles.set(`hang ${req.socket.localPort}`, { log, settled })
    for (const e of ['aborted', 'end', 'close']) req.on(e, () => log.req.push(e))
    req.on('error', (err) => log.req.push(`error ${err.code} ${err.message}`))
    for (const e of ['finish', 'close'])
      res.on(e, () => log.res.push(`${e} (writableFinished ${res.writableFinished})`))
    res.on('error', (err) => log.res.push(`error ${err.code}`))
    if (p === '/hang-stream') res.write('first')
    let acted = false
    const late = () => {
      if (acted) return
      acted = true
      log.late.push(`before: destroyed ${res.destroyed}, req.aborted ${req.aborted}`)
      if (p === '/hang-stream') log.late.push(`write returned ${res.write('more')}`)
      res.end('late', (err) => log.late.push(`end callback ${err?.code ?? err}`))
      setTimeout(() => {
        log.late.push(`after: writableFinished ${res.writableFinished}, destroyed ${res.destroyed}`)
        // The events of a close come in the ticks after it: let them in first.
        setTimeout(done, 30)
      }, 30)
    }
    res.on('close', () => setTimeout(late, 20))
    setTimeout(late, 2000)
    hangSeen(req.socket.localPort).resolve()
  } else if (p === '/hang-seen') {
    // Entries go once used: a later server may get the same port.
    const port = req.socket.localPort
    hangSeen(port).promise.then(() => {
      seen.delete(port)
      res.end('seen')
    })
  } else if (p === '/trailers') {
    // Trailers after a chunked body (several values, an array), a bad one refused.
    let refused = 'none'
    try {
      res.addTrailers({ 'x-bad': 'a\nb' })
    } catch (e) {
      refused = `${e.code} ${e.message}`
    }
    res.setHeader('x-refused', refused)
    res.write('abc')
    res.addTrailers({ 'X-Sum': '42', 'X-List': ['a', 'b'], 'X-One': ['c'] })
    // A turn later: Node 24.22+ puts writes of one tick in one chunk, earlier Nodes do not.
    setImmediate(() => res.end('def'))
  } else if (p === '/trailers-header') {
    // A Trailer header makes end()'s body chunked (else it would have a length).
    res.setHeader('Trailer', 'X-Sum')
    res.addTrailers([['X-Sum', '7']])
    res.end('whole')
  } else if (p === '/trailers-length') {
    // Dropped: the body has a length.
    res.addTrailers({ 'X-Sum': '1' })
    res.end('whole')
  } else if (p === '/empty-end') {
    // end() with nothing written: node frames it with Content-Length: 0, not chunked.
    res.setHeader('x-empty', 'yes')
    res.end()
  } else if (p === '/hang-log') {
    // Once the /hang request is through (timers, not the client's clock, decide when).
    const key = `hang ${req.socket.localPort}`
    const entry = lifecycles.get(key)
    const give = () => {
      lifecycles.delete(key)
      res.end(JSON.stringify(entry?.log ?? null))
    }
    if (entry === undefined) give()
    else entry.settled.then(give)
  } else if (p === '/slow') {
    setTimeout(() => res.end('slow'), 50)
  } else if (p === '/big') {
    res.end(Buffer.alloc(256 * 1024, 'x'))
  } else if (p === '/throw-after-head') {
    res.writeHead(200, { 'content-length': '10' })
    res.write('12345')
    setImmediate(() => res.destroy())
  } else {
    res.statusCode = 404
    res.end('not found')
  }
}

// ---------------------------------------------------------------- clients --

/** Response headers without Date (and the name of each header lower-cased, values as sent). */
function headersOf(entries) {
  return entries.filter(([k]) => k.toLowerCase() !== 'date').map(([k, v]) => [k.toLowerCase(), v])
}

/** undici's fetch, on an Agent of its own that is closed afterwards (the client ends the connection). */
export async function viaFetch(port, path, init = {}) {
  const dispatcher = new Agent()
  try {
    const r = await undiciFetch(`http://127.0.0.1:${port}${path}`, { ...init, dispatcher })
    return {
      status: r.status,
      statusText: r.statusText,
      headers: headersOf([...r.headers]),
      body: Buffer.from(await r.arrayBuffer()).toString('latin1')
    }
  } finally {
    await dispatcher.close()
  }
}

/** http.request with a keep-alive agent: several requests, and whether they shared a socket. */
export function viaHttpRequest(port, requests) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const sockets = new Set()
  const one = ({ method = 'GET', path = '/', headers = {}, body }) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        sockets.add(res.socket)
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            statusMessage: res.statusMessage,
            httpVersion: res.httpVersion,
            headers: headersOf(
              res.rawHeaders.reduce((a, v, i, all) => (i % 2 === 0 ? a.concat([[v, all[i + 1]]]) : a), [])
            ),
            body: Buffer.concat(chunks).toString('latin1')
          })
        )
      })
      req.on('error', reject)
      req.end(body)
    })
  return (async () => {
    const out = []
    for (const r of requests) out.push(await one(r))
    agent.destroy()
    return { responses: out, sockets: sockets.size }
  })()
}

/** curl, when installed: returns null (and the reason) when it is not. */
export const curlBin = (() => {
  const r = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
})()

/** curl -i (HTTP/1.1 or --http1.0), every URL on one connection when it can. */
export function viaCurl(port, paths, args = []) {
  return new Promise((resolve, reject) => {
    const urls = paths.map((p) => `http://127.0.0.1:${port}${p}`)
    const p = spawn(curlBin, ['-s', '-i', '--raw', ...args, ...urls])
    let out = ''
    let err = ''
    p.stdout.setEncoding('latin1')
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code, out: normalizeRaw(out), err }))
  })
}

/** Removes what legitimately differs between two servers' bytes: the Date header's value. */
export function normalizeRaw(text) {
  return text.replace(/\r\nDate: [^\r\n]*/gi, '\r\nDate: <date>')
}

/**
 * Raw socket: writes `parts` (strings/Buffers; with `gapMs` between them), then reads until the
 * peer closes or nothing arrived for `quietMs`. Returns { text (normalised), closed, reset }.
 */
/**
 * Sends `GET path` and, once the server's handler has run (`/hang-seen`; for `/hang-stream`,
 * once its first chunk is here), goes away (`how`: 'destroy' = a FIN from a closed socket,
 * 'end' = a half-close, 'reset' = an RST); then asks `/hang-log` what the server saw.
 */
export async function viaDisconnect(port, path, how) {
  const got = await new Promise((resolve) => {
    const s = nodeNet.connect(port, '127.0.0.1')
    let text = ''
    let gone = false
    const leave = () => {
      if (gone) return
      gone = true
      if (how === 'reset') s.resetAndDestroy()
      else if (how === 'end') s.end()
      else s.destroy()
      setTimeout(() => {
        s.destroy()
        resolve(normalizeRaw(text))
      }, 50)
    }
    s.setEncoding('latin1')
    s.on('data', (d) => {
      text += d
      if (path === '/hang-stream' && text.includes('first')) leave()
    })
    s.on('error', () => {})
    s.on('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      if (path !== '/hang-stream') viaFetch(port, '/hang-seen').then(leave)
    })
  })
  const log = await viaFetch(port, '/hang-log')
  return { got, log: JSON.parse(log.body) }
}

export function viaRaw(port, parts, { gapMs = 0, quietMs = 300, endAfterWrite = false } = {}) {
  return new Promise((resolve) => {
    const s = nodeNet.connect(port, '127.0.0.1')
    let text = ''
    let closed = false
    let reset = false
    // "Quiet" is quietMs of a running event loop without data: ticks of 20 ms are counted, not
    // wall time. On a loaded machine a process can be descheduled for longer than quietMs; a
    // plain timer then fires in the first loop turn after the stall, before the poll phase has
    // read the reply that is already waiting (the servers run in this process too), and the case
    // saw "nothing" (Node 24 full runs, 1 in 3 runs of this file alone, on both backends).
    let quiet
    let idle = 0
    const finish = () => {
      clearInterval(quiet)
      quiet = undefined
      s.destroy()
      resolve({ text: normalizeRaw(text), closed, reset })
    }
    const arm = () => {
      idle = 0
      if (quiet !== undefined) return
      quiet = setInterval(() => {
        if (++idle * 20 >= quietMs) finish()
      }, 20)
    }
    s.setEncoding('latin1')
    s.on('data', (d) => {
      text += d
      arm()
    })
    s.on('end', () => {
      closed = true
    })
    s.on('error', (e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true
    })
    s.on('close', () => {
      closed = true
      finish()
    })
    s.on('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (s.destroyed) return
        s.write(parts[i])
        if (gapMs > 0 && i < parts.length - 1) await new Promise((r) => setTimeout(r, gapMs))
      }
      if (endAfterWrite) s.end()
      arm()
    })
  })
}
