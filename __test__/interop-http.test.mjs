// node:http on boros sockets: an http.Server fed connections accepted by boros (keep-alive,
// pipelining, chunked bodies both ways, Expect: 100-continue, upgrade), and the clients:
// http.request with boros' createConnection, undici's Agent({ connect }) with fetch.
import test from 'ava'
import crypto from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici'
import { impl, serveOnBoros } from './helpers/interop.mjs'

const on = `on ${impl.name}`

/** An http.Server served by boros; `handler` gets the requests. Counts its connections. */
async function borosHttp(t, handler, setup) {
  const server = http.createServer({ keepAliveTimeout: 5000 }, handler)
  const sockets = new Set()
  server.on('connection', (s) => sockets.add(s))
  setup?.(server)
  const b = await serveOnBoros(server)
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await b.close()
  })
  return { port: b.port, sockets, server }
}

function sha(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

/** Echo handler: replies with the body's length and hash, chunked when asked. */
function echoHandler(req, res) {
  const parts = []
  req.on('data', (d) => parts.push(d))
  req.on('end', () => {
    const body = Buffer.concat(parts)
    const info = JSON.stringify({
      method: req.method,
      url: req.url,
      len: body.length,
      sha: sha(body),
      te: req.headers['transfer-encoding'] ?? null
    })
    if (req.url.startsWith('/chunked')) {
      // A chunked response: no content-length, several writes.
      res.writeHead(200, { 'content-type': 'application/json' })
      for (let i = 0; i < 10; i++) res.write(`${i}:`)
      res.end(info)
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(info) })
      res.end(info)
    }
  })
}

function request(opts, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(opts, (res) => {
      const parts = []
      res.on('data', (d) => parts.push(d))
      res.on('end', () => resolve({ res, body: Buffer.concat(parts).toString(), socket: req.socket }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body) for (const b of body) req.write(b)
    req.end()
  })
}

test(`http.Server ${on}: keep-alive reuses one boros connection for 50 requests`, async (t) => {
  const { port, sockets } = await borosHttp(t, echoHandler)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 50; i++) {
    const r = await request({ port, host: '127.0.0.1', path: `/k${i}`, agent, method: 'POST' }, [
      Buffer.alloc(i * 100, i)
    ])
    t.is(r.res.statusCode, 200)
    const j = JSON.parse(r.body)
    t.is(j.url, `/k${i}`)
    t.is(j.len, i * 100)
  }
  t.is(sockets.size, 1, 'one connection served every request')
  for (const s of sockets) t.true(s instanceof impl.Socket)
})

test(`http.Server ${on}: pipelined requests answered in order`, async (t) => {
  const { port } = await borosHttp(t, echoHandler)
  const c = net.connect(port, '127.0.0.1')
  await once(c, 'connect')
  const N = 20
  let raw = ''
  for (let i = 0; i < N; i++) raw += `GET /p${i} HTTP/1.1\r\nHost: x\r\n\r\n`
  raw += `POST /p-last HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`
  // All of them in one write: the parser sees them back to back. No half-close: an http.Server
  // (libuv's too) without httpAllowHalfOpen drops queued responses at the client's FIN.
  c.write(raw)
  let got = ''
  c.setEncoding('utf8')
  for await (const d of c) got += d
  const urls = [...got.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1])
  t.deepEqual(urls, [...Array.from({ length: N }, (_, i) => `/p${i}`), '/p-last'])
  t.is(got.match(/HTTP\/1\.1 200 OK/g).length, N + 1)
  t.regex(got, /"len":5/)
})

test(`http.Server ${on}: chunked request and response bodies (1 MiB in 1,000 chunks)`, async (t) => {
  const { port } = await borosHttp(t, echoHandler)
  const chunks = Array.from({ length: 1000 }, (_, i) => crypto.randomBytes(1024 + (i % 100)))
  const all = Buffer.concat(chunks)
  const r = await request({ port, host: '127.0.0.1', path: '/chunked', method: 'POST' }, chunks)
  t.is(r.res.headers['transfer-encoding'], 'chunked')
  const prefix = Array.from({ length: 10 }, (_, i) => `${i}:`).join('')
  t.true(r.body.startsWith(prefix))
  const j = JSON.parse(r.body.slice(prefix.length))
  t.is(j.te, 'chunked')
  t.is(j.len, all.length)
  t.is(j.sha, sha(all))
})

test(`http.Server ${on}: Expect: 100-continue`, async (t) => {
  let checked = 0
  const { port } = await borosHttp(t, echoHandler, (server) => {
    server.on('checkContinue', (req, res) => {
      checked++
      if (req.headers['x-deny']) {
        res.writeHead(417)
        res.end()
        return
      }
      res.writeContinue()
      echoHandler(req, res)
    })
  })
  const body = Buffer.alloc(200_000, 7)
  const r = await new Promise((resolve, reject) => {
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'PUT',
      path: '/c',
      headers: { expect: '100-continue', 'content-length': body.length }
    })
    let continued = false
    req.on('continue', () => {
      continued = true
      req.end(body)
    })
    req.on('response', (res) => {
      let s = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (s += d))
      res.on('end', () => resolve({ continued, status: res.statusCode, body: s }))
    })
    req.on('error', reject)
  })
  t.true(r.continued)
  t.is(r.status, 200)
  t.is(JSON.parse(r.body).len, body.length)
  const denied = await new Promise((resolve, reject) => {
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'PUT',
      path: '/d',
      headers: { expect: '100-continue', 'x-deny': '1', 'content-length': 10 }
    })
    req.on('continue', () => reject(new Error('should not continue')))
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode)
      req.destroy()
    })
    req.on('error', () => undefined)
  })
  t.is(denied, 417)
  t.is(checked, 2)
})

test(`http.Server ${on}: upgrade hands the boros socket over, bytes flow both ways`, async (t) => {
  const { port } = await borosHttp(t, echoHandler, (server) => {
    server.on('upgrade', (req, socket, head) => {
      t.true(socket instanceof impl.Socket)
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
      if (head.length) socket.write(head)
      socket.on('data', (d) => socket.write(d))
      socket.on('end', () => socket.end())
    })
  })
  const req = http.request({ port, host: '127.0.0.1', headers: { connection: 'upgrade', upgrade: 'echo' } })
  req.end()
  const [res, socket, head] = await once(req, 'upgrade')
  t.is(res.statusCode, 101)
  const payload = crypto.randomBytes(300_000)
  const parts = [head]
  socket.on('data', (d) => parts.push(d))
  socket.end(payload)
  await once(socket, 'end')
  t.is(sha(Buffer.concat(parts)), sha(payload))
  socket.destroy()
})

/** A node:http server on libuv for the client-side tests. */
async function libuvHttp(t) {
  const server = http.createServer(echoHandler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  server.keepAliveTimeout = 1000
  return server.address().port
}

test(`http.request with createConnection ${on} (keep-alive agent, 100 requests)`, async (t) => {
  const port = await libuvHttp(t)
  const made = []
  class BorosAgent extends http.Agent {
    createConnection(opts, cb) {
      const s = impl.createConnection({ host: opts.host, port: opts.port })
      made.push(s)
      s.once('connect', () => cb?.(null, s))
      s.once('error', (e) => cb?.(e))
      return s
    }
  }
  const agent = new BorosAgent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      request({ host: '127.0.0.1', port, path: `/r${i}`, method: 'POST', agent }, [`body-${i}`])
    )
  )
  for (const [i, r] of results.entries()) {
    t.is(JSON.parse(r.body).url, `/r${i}`)
    t.true(r.socket instanceof impl.Socket)
  }
  t.true(made.length >= 1 && made.length <= 4, `${made.length} connections`)
  // The plain createConnection option of http.request, without an agent.
  const one = await request({
    host: '127.0.0.1',
    port,
    path: '/plain',
    createConnection: (o) => impl.createConnection({ host: o.host, port: o.port })
  })
  t.is(JSON.parse(one.body).url, '/plain')
  t.true(one.socket instanceof impl.Socket)
})

test(`undici fetch through Agent({ connect }) ${on}`, async (t) => {
  const port = await libuvHttp(t)
  let connects = 0
  const dispatcher = new UndiciAgent({
    connect(opts, cb) {
      connects++
      const s = impl.createConnection({ host: opts.hostname, port: Number(opts.port) })
      s.once('connect', () => cb(null, s))
      s.once('error', (e) => cb(e))
    }
  })
  t.teardown(() => dispatcher.close())
  const body = crypto.randomBytes(500_000)
  for (let i = 0; i < 20; i++) {
    const r = await undiciFetch(`http://127.0.0.1:${port}/u${i}`, {
      method: 'POST',
      body: i % 2 ? body : `b${i}`,
      dispatcher
    })
    t.is(r.status, 200)
    const j = await r.json()
    t.is(j.url, `/u${i}`)
    if (i % 2) t.is(j.sha, sha(body))
  }
  // And against the boros-served http.Server: boros on both ends.
  const { port: bport } = await borosHttp(t, echoHandler)
  const r = await undiciFetch(`http://127.0.0.1:${bport}/chunked`, { method: 'POST', body, dispatcher })
  const text = await r.text()
  t.is(JSON.parse(text.slice(text.indexOf('{'))).sha, sha(body))
  t.true(connects >= 2, `${connects} connects`)
})
