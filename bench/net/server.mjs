// One server contender of the network workloads (echo, http), in its own process, so its
// CPU time and peak RSS belong to it alone. The orchestrator (bench/net/run.mjs) pins it to a
// core with taskset and drives it with an external load generator.
//
//   node bench/net/server.mjs '<json>'   json: { server, port, workers, file }
//
// server: echo-node | echo-boros-ll | echo-boros-conn | echo-boros-net | http-node | http-boros-net
//         | http-boros-create (boros/http createServer) | http-boros-serve (boros/http serve)
//         | express-node | express-boros (the same Express app on node:http / boros/http)
// (Bun.serve and Deno.serve run bench/net/anchor-server.js in their own runtimes.)
// workers: 1 = serve on the main thread; N > 1 = N worker_threads each listening on the
// same port with reusePort (each boros worker has its own ring; node:net needs Node 22.12+
// for reusePort, older Nodes say so and exit).
//
// Protocol on stdio: prints "LISTENING <port>" once every worker listens; then each line
// read on stdin is a command: "stats" answers "STATS {json}" (boros stats() summed over the
// workers, process CPU, peak RSS), "exit" exits.
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'

const spec = isMainThread ? JSON.parse(process.argv[2]) : workerData
const DIST = new URL('../../dist/', import.meta.url)
const HOST = '127.0.0.1'

class Skip extends Error {}

async function importDist(rel, what) {
  const url = new URL(rel, DIST)
  if (!fs.existsSync(url)) throw new Skip(`${what}: dist/${rel} does not exist (not built, or not on this branch yet)`)
  return import(url.href)
}

const HELLO = Buffer.from('Hello, World!')
/** The 1 KiB JSON route's object: serialised on every request, as a real handler would. */
export const JSON_OBJECT = {
  items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ['a', 'b'] }))
}

/**
 * The request handler every node:http-shaped contender runs: hello-world on "/", 1 KiB of
 * JSON on "/json", the request body echoed on "POST /echo", a 64 KiB file (read once at start,
 * served from memory) on "/file".
 */
function httpHandler(file) {
  const body = file ? fs.readFileSync(file) : null
  return (req, res) => {
    const url = req.url
    if (url === '/json') {
      const json = JSON.stringify(JSON_OBJECT)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) })
      res.end(json)
      return
    }
    if (url === '/echo') {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length })
        res.end(b)
      })
      return
    }
    if (url === '/file' && body) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      res.end(body)
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length })
    res.end(HELLO)
  }
}

/** The same routes as an Express app (express from node_modules). */
async function expressApp(file) {
  let express
  try {
    express = (await import('express')).default
  } catch (e) {
    throw new Skip(`express is not installed (npm ci): ${e.message}`)
  }
  const body = file ? fs.readFileSync(file) : null
  const app = express()
  app.set('etag', false)
  app.set('x-powered-by', false)
  app.get('/', (req, res) => res.type('text/plain').send(HELLO))
  app.get('/json', (req, res) => res.json(JSON_OBJECT))
  app.post('/echo', express.raw({ type: '*/*', limit: '1mb' }), (req, res) =>
    res.type('application/octet-stream').send(req.body)
  )
  app.get('/file', (req, res) => res.type('application/octet-stream').send(body))
  return app
}

/** The same routes as a fetch handler (boros/http serve; the anchors have their own copy). */
function fetchHandler(file) {
  const text = { 'content-type': 'text/plain' }
  return async (req) => {
    const path = req.url.slice(req.url.indexOf('/', 8))
    if (path === '/json') return Response.json(JSON_OBJECT)
    if (path === '/echo')
      return new Response(await req.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } })
    if (path === '/file' && file) return new Response(file, { headers: { 'content-type': 'application/octet-stream' } })
    return new Response(HELLO, { headers: text })
  }
}

/** node:http's (or boros/http's) server listening on HOST:port. */
function listenOn(srv, port, reusePort) {
  return new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen({ host: HOST, port, backlog: 4096, reusePort }, resolve)
  })
}

/** Starts one server on this thread; resolves with { port, stats() }. */
async function serve(kind, port, reusePort) {
  if (kind === 'echo-node' || kind === 'http-node') {
    const srv =
      kind === 'echo-node'
        ? net.createServer({ noDelay: true }, (s) => {
            s.on('data', (d) => s.write(d))
            s.on('error', () => s.destroy())
          })
        : http.createServer({ keepAliveTimeout: 60_000 }, httpHandler(spec.file))
    if (kind === 'http-node') srv.on('connection', (s) => s.setNoDelay(true))
    await new Promise((resolve, reject) => {
      srv.once('error', reject)
      srv.listen({ host: HOST, port, backlog: 4096, reusePort }, resolve)
    })
    return { port: srv.address().port, stats: () => null }
  }
  if (kind === 'express-node') {
    const srv = http.createServer({ keepAliveTimeout: 60_000 }, await expressApp(spec.file))
    await listenOn(srv, port, reusePort)
    return { port: srv.address().port, stats: () => null }
  }
  const core = await importDist('index.js', 'boros')
  if (kind === 'http-boros-create' || kind === 'express-boros' || kind === 'http-boros-serve') {
    const bhttp = await importDist('http/index.js', 'boros/http')
    if (bhttp.backend !== undefined && bhttp.backend !== 'io_uring')
      throw new Skip(`boros/http runs on ${bhttp.backend} here (io_uring refused)`)
    if (kind === 'http-boros-serve') {
      if (typeof bhttp.serve !== 'function') throw new Skip('boros/http has no serve() in this build')
      const file = spec.file ? fs.readFileSync(spec.file) : null
      const s = await bhttp.serve({ port, hostname: HOST, reusePort, fetch: fetchHandler(file) })
      return { port: s.port ?? s.address?.().port, stats: () => core.stats() }
    }
    if (typeof bhttp.createServer !== 'function') throw new Skip('boros/http has no createServer() in this build')
    const handler = kind === 'express-boros' ? await expressApp(spec.file) : httpHandler(spec.file)
    const srv = bhttp.createServer({ keepAliveTimeout: 60_000 }, handler)
    await listenOn(srv, port, reusePort)
    return { port: srv.address().port, stats: () => core.stats() }
  }
  if (kind === 'echo-boros-ll') {
    const { Connection } = await importDist('net/connection.js', 'boros low-level net API')
    const { Listener } = await importDist('net/listener.js', 'boros low-level net API')
    const l = new Listener({ host: HOST, port, reusePort }, 4096, {
      onConnection(fd) {
        const c = new Connection(fd, {
          onData: (chunk) => c.write(chunk),
          onEnd: () => c.close(),
          onError: () => c.close()
        })
        c.resume()
      }
    })
    return { port: l.address().port, stats: () => core.stats() }
  }
  const bnet = await importDist('net/index.js', 'boros/net (Socket, Server)')
  if (bnet.backend !== 'io_uring') throw new Skip(`boros/net runs on ${bnet.backend} here (io_uring refused)`)
  if (kind === 'echo-boros-conn') {
    // The promise-based low-level API: listen() yields Conns, each read and write a promise.
    if (typeof bnet.listen !== 'function') throw new Skip('boros/net has no listen() (the Conn API)')
    const l = await bnet.listen({ host: HOST, port, backlog: 4096, reusePort })
    ;(async () => {
      for await (const conn of l) {
        ;(async () => {
          try {
            for await (const chunk of conn) await conn.write(chunk)
          } catch {}
          await conn.close()
        })()
      }
    })()
    return { port: l.address().port, stats: () => core.stats() }
  }
  if (typeof bnet.createServer !== 'function') throw new Skip('boros/net: dist/net/index.js has no createServer')
  let srv
  if (kind === 'echo-boros-net') {
    srv = bnet.createServer({ noDelay: true }, (s) => {
      s.on('data', (d) => s.write(d))
      s.on('error', () => s.destroy())
    })
  } else {
    // node:http on boros/net: the http.Server never listens itself; every boros socket is
    // handed to it as a connection (DESIGN-NOTES §7).
    const hs = http.createServer({ keepAliveTimeout: 60_000 }, httpHandler(spec.file))
    // No setNoDelay here: the socket takes the http.Server's noDelay when it adopts it (the
    // trap of issue 20, fixed in boros/net), so this is the pattern docs/net.md teaches, as is.
    srv = bnet.createServer((s) => hs.emit('connection', s))
  }
  await new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen({ host: HOST, port, backlog: 4096, reusePort }, resolve)
  })
  return { port: srv.address().port, stats: () => core.stats() }
}

const STAT_KEYS = [
  'opsSubmitted',
  'opsCompleted',
  'enterCalls',
  'batches',
  'recvBuffersMost',
  'recvBufferGrows',
  'recvBufferShrinks',
  'recvStarved'
]
const plain = (s) => (s ? Object.fromEntries(STAT_KEYS.map((k) => [k, Number(s[k] ?? 0)])) : null)

if (!isMainThread) {
  try {
    const s = await serve(spec.server, spec.port, true)
    parentPort.on('message', (m) => {
      if (m === 'stats') parentPort.postMessage({ stats: plain(s.stats()) })
    })
    parentPort.postMessage({ port: s.port })
  } catch (e) {
    parentPort.postMessage(e instanceof Skip ? { skip: e.message } : { error: String(e?.stack ?? e) })
    process.exit(0)
  }
} else {
  const out = (line) => process.stdout.write(line + '\n')
  try {
    const workers = spec.workers ?? 1
    let statsOf
    let port
    if (workers <= 1) {
      const s = await serve(spec.server, spec.port ?? 0, false)
      port = s.port
      statsOf = async () => plain(s.stats())
    } else {
      const [maj, min] = process.versions.node.split('.').map(Number)
      if (spec.server.endsWith('-node') && (maj < 22 || (maj === 22 && min < 12)))
        throw new Skip(`node:net has listen({ reusePort }) from Node 22.12 / 23.1 on; this is ${process.version}`)
      // Every worker binds the same port with SO_REUSEPORT: pick a free one first.
      port = spec.port || (await freePort())
      const ws = []
      for (let i = 0; i < workers; i++) {
        const w = new Worker(new URL(import.meta.url), { workerData: { ...spec, port } })
        const first = await new Promise((resolve, reject) => {
          w.once('error', reject)
          w.once('message', resolve)
        })
        if (first.skip) throw new Skip(first.skip)
        if (first.error) throw new Error(first.error)
        ws.push(w)
      }
      statsOf = async () => {
        const all = await Promise.all(
          ws.map(
            (w) =>
              new Promise((resolve) => {
                w.once('message', (m) => resolve(m.stats))
                w.postMessage('stats')
              })
          )
        )
        if (all.some((s) => s == null)) return null
        return Object.fromEntries(STAT_KEYS.map((k) => [k, all.reduce((n, s) => n + s[k], 0)]))
      }
    }
    out(`LISTENING ${port}`)
    let buf = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', async (d) => {
      buf += d
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (cmd === 'stats') {
          const cpu = process.cpuUsage()
          out(
            `STATS ${JSON.stringify({
              boros: await statsOf(),
              cpuSeconds: (cpu.user + cpu.system) / 1e6,
              maxRSSKiB: process.resourceUsage().maxRSS
            })}`
          )
        } else if (cmd === 'exit') process.exit(0)
      }
    })
    process.stdin.on('end', () => process.exit(0))
  } catch (e) {
    if (e instanceof Skip) out(`SKIP ${e.message}`)
    else
      out(
        `ERROR ${String(e?.stack ?? e)
          .split('\n')
          .join(' | ')}`
      )
    process.exit(e instanceof Skip ? 0 : 1)
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, HOST, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}
