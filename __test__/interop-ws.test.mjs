// The ws package on an http.Server served by boros (the upgrade path): 10,000 messages echoed,
// text and binary, to a ws client on libuv and to a ws client whose socket is boros' too.
import test from 'ava'
import crypto from 'node:crypto'
import http from 'node:http'
import { once } from 'node:events'
import WebSocket, { WebSocketServer } from 'ws'
import { impl, serveOnBoros } from './helpers/interop.mjs'

async function wsServer(t) {
  const server = http.createServer((_req, res) => res.end('plain http still works'))
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
  const upgraded = []
  server.on('upgrade', (req, socket, head) => {
    upgraded.push(socket)
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    })
  })
  const b = await serveOnBoros(server)
  t.teardown(async () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    await b.close()
  })
  return { port: b.port, upgraded }
}

/** Sends `n` messages (a window of 64 in flight), checks each echo in order. */
async function echoMessages(t, ws, n) {
  const sent = []
  let received = 0
  let mismatches = 0
  const done = new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      const want = sent[received++]
      const same = isBinary
        ? Buffer.isBuffer(want) && want.equals(data)
        : typeof want === 'string' && data.toString() === want
      if (!same) mismatches++
      if (received === n) resolve()
      else if (sent.length < n) send()
    })
    ws.on('error', reject)
    ws.on('close', () => received < n && reject(new Error(`closed after ${received} messages`)))
  })
  const send = () => {
    const i = sent.length
    const m = i % 3 === 0 ? crypto.randomBytes(1 + (i % 2000)) : `message ${i} ${'é'.repeat(i % 40)}`
    sent.push(m)
    ws.send(m, { binary: Buffer.isBuffer(m) })
  }
  for (let i = 0; i < 64 && i < n; i++) send()
  await done
  t.is(received, n)
  t.is(mismatches, 0)
}

test(`ws on an http.Server served by ${impl.name}: 10,000 messages echoed to a libuv ws client`, async (t) => {
  const { port, upgraded } = await wsServer(t)
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
  await once(ws, 'open')
  t.true(upgraded[0] instanceof impl.Socket)
  await echoMessages(t, ws, 10_000)
  // A large message, then a clean close.
  const big = crypto.randomBytes(4 << 20)
  ws.send(big)
  const [echoed] = await once(ws, 'message')
  t.true(Buffer.from(echoed).equals(big))
  ws.close(1000, 'bye')
  const [code] = await once(ws, 'close')
  t.is(code, 1000)
})

test(`ws with boros on both ends (${impl.name}): 10,000 messages echoed`, async (t) => {
  const { port } = await wsServer(t)
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
    perMessageDeflate: false,
    createConnection: (o) => impl.createConnection({ host: o.host ?? '127.0.0.1', port: Number(o.port) })
  })
  await once(ws, 'open')
  t.true(ws._socket instanceof impl.Socket)
  await echoMessages(t, ws, 10_000)
  ws.close()
  await once(ws, 'close')
})
