// The response queue (src-ts/http/respond-queue.ts, crates/boros-node/src/http/batch.rs): ended
// responses reach the engine as records in shared memory, not one native call each. Its edges,
// in one pipelined write so that they meet in one turn: more distinct heads than the head table
// holds (heads then go inline), bodies the ASCII copy does not take (non-ASCII, a lone
// surrogate, longer than 64), a body too large to queue, a response made by direct calls
// (write, then end on a later turn) between queued ones, and more responses than the queue
// has records. node:http, given the same bytes, is the specification (responses minus Date).
import test from 'ava'
import * as wire from '../dist/wire.js'
import { exchange } from './fixtures/http-raw.mjs'
import { borosCreateServerFactory, nodeHttp } from './helpers/http-diff.mjs'

const borosCreate = await borosCreateServerFactory()

const BODIES = {
  '/u': 'h\u00e9llo \u2603 \u{1d11e}',
  '/lone': '\ud800abc\udc00',
  '/long': 'x'.repeat(100),
  '/big': 'y'.repeat(wire.HTTP_RQ_BODY_MAX + 10),
  '/bytes': Buffer.from([0, 1, 2, 255])
}

function handler(req, res) {
  const url = req.url
  if (url.startsWith('/h/')) {
    // A distinct head per request: past HTTP_RQ_HEADS_MAX they go into the slab.
    res.setHeader('x-n', url.slice(3))
    res.end(`n${url.slice(3)}`)
  } else if (url === '/stream') {
    res.write('a')
    setImmediate(() => res.end('b'))
  } else if (url in BODIES) res.end(BODIES[url])
  else res.end('plain')
}

/** Requests as one write: distinct heads, the odd bodies and a stream among them, past the queue's size. */
function pipelined() {
  const paths = []
  for (let i = 0; i < wire.HTTP_RQ_HEADS_MAX + 50; i++) paths.push(`/h/${i}`)
  paths.push(...Object.keys(BODIES), '/stream', '/h/7', '/u')
  while (paths.length < wire.HTTP_RQ_RECORDS + 200) paths.push(paths.length % 3 ? '/' : `/h/${paths.length}`)
  return paths
}

async function run(factory, paths) {
  const srv = await factory(handler)
  try {
    const raw = paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')
    return await exchange(srv.port, [raw], { expect: paths.length, settle: 100, timeout: 20_000 })
  } finally {
    await srv.close()
  }
}

const maybe = borosCreate === null ? test.skip : test
maybe('createServer(): queued, inline-head, direct and fallback responses in one turn match node:http', async (t) => {
  const paths = pipelined()
  const spec = await run(nodeHttp, paths)
  const ours = await run(borosCreate, paths)
  t.is(spec.responses.length, paths.length)
  t.is(ours.responses.length, paths.length)
  for (let i = 0; i < paths.length; i++) {
    const a = ours.responses[i]
    const b = spec.responses[i]
    t.deepEqual([a.status, a.reason, a.headers, a.body], [b.status, b.reason, b.headers, b.body], `${paths[i]} (#${i})`)
  }
})

test('serve(): distinct heads past the head table, odd bodies and many responses in one turn', async (t) => {
  const { serve } = await import('../dist/http/index.js')
  const server = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const path = new URL(req.url).pathname
      if (path.startsWith('/h/')) return new Response(`n${path.slice(3)}`, { headers: { 'x-n': path.slice(3) } })
      if (path in BODIES) return new Response(BODIES[path])
      return new Response('plain')
    }
  })
  try {
    await server.ready
    const paths = pipelined().filter((p) => p !== '/stream')
    const raw = paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')
    const { responses } = await exchange(server.port, [raw], { expect: paths.length, settle: 100, timeout: 20_000 })
    t.is(responses.length, paths.length)
    for (let i = 0; i < paths.length; i++) {
      const p = paths[i]
      const r = responses[i]
      const want = p.startsWith('/h/') ? `n${p.slice(3)}` : p in BODIES ? BODIES[p] : 'plain'
      t.is(r.status, 200, p)
      t.is(r.reason, 'OK', p)
      // Bodies arrive as latin1 strings: one character per byte.
      t.is(r.body, Buffer.from(want).toString('latin1'), `${p} (#${i})`)
      if (p.startsWith('/h/')) t.is(r.headers['x-n'], p.slice(3), p)
      t.is(Number(r.headers['content-length']), Buffer.byteLength(want), p)
    }
  } finally {
    await server.stop(true)
  }
})
