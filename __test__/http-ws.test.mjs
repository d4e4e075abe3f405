// The ws package (npm, unmodified) on boros/http's createServer(): the engine hands an upgrade
// request's connection to a boros/net Socket ('upgrade' event), and ws runs on it: messages of
// both kinds echoed in order, plain HTTP still answered by the same server. On the fallback
// createServer() is node:http's own and the same test runs there.
import test from 'ava'
import crypto from 'node:crypto'
import { backend, createServer } from 'boros/http'
import * as bnet from 'boros/net'
import WebSocket, { WebSocketServer } from 'ws'

test(`ws on boros/http createServer (${backend}): 3,000 messages echoed, plain HTTP alongside`, async (t) => {
  const server = createServer((_req, res) => res.end('plain http still works'))
  const sockets = []
  server.on('upgrade', (_req, socket) => sockets.push(socket))
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  t.teardown(() => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    server.closeAllConnections()
    server.close()
  })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`)
  await new Promise((resolve, reject) => {
    ws.on('open', resolve)
    ws.on('error', reject)
  })
  if (backend === 'io_uring') t.true(sockets[0] instanceof bnet.Socket, 'the upgraded connection is a boros/net Socket')
  const n = 3000
  const sent = []
  let bad = 0
  let got = 0
  await new Promise((resolve, reject) => {
    ws.on('message', (d, isBinary) => {
      const want = sent[got++]
      if (isBinary ? !Buffer.isBuffer(want) || !want.equals(d) : d.toString() !== want) bad++
      if (got === n) resolve()
    })
    ws.on('close', () => got < n && reject(new Error(`closed after ${got}`)))
    for (let i = 0; i < n; i++) {
      const m = i % 3 === 0 ? crypto.randomBytes(1 + (i % 5000)) : `message ${i} ${'é'.repeat(i % 30)}`
      sent.push(m)
      ws.send(m, { binary: Buffer.isBuffer(m) })
    }
  })
  t.is(bad, 0)
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'plain http still works')
  ws.close()
})
