// TLS over boros sockets, both ways: tls.connect({ socket }) on a boros client socket,
// new tls.TLSSocket(borosSocket, { isServer: true }) on an accepted one, and an https.Server
// served by boros. The peers are Node's own (libuv) so each side is checked against the
// reference implementation; then boros on both ends.
import test from 'ava'
import crypto from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import tls from 'node:tls'
import { once } from 'node:events'
import { impl, serveOnBoros } from './helpers/interop.mjs'

const key = fs.readFileSync(new URL('./fixtures/tls/key.pem', import.meta.url))
const cert = fs.readFileSync(new URL('./fixtures/tls/cert.pem', import.meta.url))
const on = `on ${impl.name}`
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')

/** Echoes everything over a TLS socket and ends when the peer ends. */
function echo(s) {
  s.on('data', (d) => s.write(d))
  s.on('end', () => s.end())
  s.on('error', () => s.destroy())
}

/** Sends `payload` over a TLS socket and resolves with as many bytes as came back. No half-close:
 *  a FIN under TLS races the echo (allowHalfOpen semantics, not what these tests are about). */
function roundTrip(s, payload) {
  return new Promise((resolve, reject) => {
    const parts = []
    let n = 0
    s.on('data', (d) => {
      parts.push(d)
      n += d.length
      if (n >= payload.length) resolve(Buffer.concat(parts))
    })
    s.on('error', reject)
    s.on('close', () => reject(new Error(`closed after ${n} of ${payload.length} bytes`)))
    s.write(payload)
  })
}

test(`tls.connect({ socket }) ${on} to a node:tls server`, async (t) => {
  const server = tls.createServer({ key, cert }, echo)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const raw = impl.createConnection({ host: '127.0.0.1', port: server.address().port })
  const s = tls.connect({ socket: raw, ca: cert, servername: 'localhost' })
  await once(s, 'secureConnect')
  t.true(s.authorized, String(s.authorizationError))
  t.truthy(s.getProtocol())
  const payload = crypto.randomBytes(2 << 20)
  t.is(sha(await roundTrip(s, payload)), sha(payload))
  s.destroy()
})

test(`new tls.TLSSocket(borosSocket, { isServer: true }) ${on}, a node:tls client`, async (t) => {
  const srv = impl.createServer((sock) => {
    const s = new tls.TLSSocket(sock, { isServer: true, key, cert })
    echo(s)
  })
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => srv.close(() => resolve())))
  const c = tls.connect({ host: '127.0.0.1', port: srv.address().port, ca: cert, servername: 'localhost' })
  await once(c, 'secureConnect')
  t.true(c.authorized, String(c.authorizationError))
  const payload = crypto.randomBytes(1 << 20)
  t.is(sha(await roundTrip(c, payload)), sha(payload))
  c.destroy()
})

test(`TLS with boros on both ends ${on}: TLSSocket server, tls.connect({ socket }) client`, async (t) => {
  const srv = impl.createServer((sock) => echo(new tls.TLSSocket(sock, { isServer: true, key, cert })))
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => srv.close(() => resolve())))
  const raw = impl.createConnection({ host: '127.0.0.1', port: srv.address().port })
  const s = tls.connect({ socket: raw, ca: cert, servername: 'localhost' })
  await once(s, 'secureConnect')
  t.true(s.authorized)
  const payload = crypto.randomBytes(3 << 20)
  t.is(sha(await roundTrip(s, payload)), sha(payload))
  s.destroy()
})

test(`https.Server ${on}: 20 keep-alive requests from https.request, then one through a boros client socket`, async (t) => {
  const server = https.createServer({ key, cert }, (req, res) => {
    const parts = []
    req.on('data', (d) => parts.push(d))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      res.end(
        JSON.stringify({ url: req.url, len: body.length, sha: sha(body), encrypted: req.socket.encrypted === true })
      )
    })
  })
  const b = await serveOnBoros(server)
  t.teardown(() => b.close())
  const get = (path, agent, body) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: b.port, path, method: 'POST', ca: cert, servername: 'localhost', agent },
        (res) => {
          let s = ''
          res.setEncoding('utf8')
          res.on('data', (d) => (s += d))
          res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(s), socket: req.socket }))
        }
      )
      req.on('error', reject)
      req.end(body)
    })
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert })
  t.teardown(() => agent.destroy())
  const body = crypto.randomBytes(100_000)
  for (let i = 0; i < 20; i++) {
    const r = await get(`/s${i}`, agent, body)
    t.is(r.status, 200)
    t.deepEqual(r.json, { url: `/s${i}`, len: body.length, sha: sha(body), encrypted: true })
  }
  // The client over a boros socket too: an Agent whose connections are TLS on boros sockets.
  class BorosTlsAgent extends https.Agent {
    createConnection(opts, cb) {
      const raw = impl.createConnection({ host: opts.host, port: opts.port })
      const s = tls.connect({ socket: raw, ca: cert, servername: 'localhost' })
      s.once('secureConnect', () => cb?.(null, s))
      s.once('error', (e) => cb?.(e))
      return s
    }
  }
  const bagent = new BorosTlsAgent({ keepAlive: true })
  t.teardown(() => bagent.destroy())
  const r = await get('/both', bagent, body)
  t.deepEqual(r.json, { url: '/both', len: body.length, sha: sha(body), encrypted: true })
})
