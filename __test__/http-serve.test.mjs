// serve({ fetch }) of boros/http: every scenario of fixtures/http-serve-scenarios.mjs (raw HTTP
// on a socket: bodies both ways, HEAD, 204, keep-alive, pipelining, 100-continue, HTTP/1.0,
// limits, timeouts, errors) runs on the io_uring engine in this process and on the node:http
// fallback (BOROS_BACKEND=fallback, a child process); the records (status, headers but Date,
// body, whether the server closed) must be equal, and the ring's must say what node:http does.
import test from 'ava'
import { spawn } from 'node:child_process'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { backend } from 'boros/net'
import { serve } from 'boros/http'
import { scenarios } from './fixtures/http-serve-scenarios.mjs'
import { exchange } from './fixtures/http-raw.mjs'
import { unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/http-serve-scenarios.mjs', import.meta.url))

/** Headers sorted by name (the two backends write them in different orders). */
function normal(record) {
  const sortHeaders = (h) => Object.fromEntries(Object.entries(h).sort(([a], [b]) => (a < b ? -1 : 1)))
  return { ...record, responses: record.responses.map((r) => ({ ...r, headers: sortHeaders(r.headers) })) }
}

const ring = {}
const onRing = backend === 'io_uring'

for (const [name, fn] of Object.entries(scenarios)) {
  const run = unless(onRing ? undefined : 'io_uring unavailable here (the fallback run below still compares)', {
    serial: true
  })
  run(`serve() on io_uring: ${name}`, async (t) => {
    ring[name] = normal(await fn(serve))
    t.truthy(ring[name])
  })
}

unless(onRing ? undefined : 'io_uring unavailable here (the fallback run below still compares)', { serial: true })(
  'serve() on io_uring: what the records say',
  (t) => {
    const one = (n) => ring[n].responses[0]
    t.is(one('basic').body, 'hello')
    t.is(one('basic').headers['content-length'], '5')
    t.false(ring.basic.closed)
    t.deepEqual(JSON.parse(one('requestShape').body), { i: true, u: 'http://t/p?q=1', m: 'GET', h: 'b' })
    t.is(JSON.parse(one('postContentLength').body).body, 'hello world')
    t.is(JSON.parse(one('postChunked').body).body, 'hello world')
    t.is(one('bigPost').body, '300000')
    t.is(one('streamedResponse').body, 'chunk;chunk;chunk;')
    t.is(one('streamedResponse').headers['transfer-encoding'], 'chunked')
    t.is(one('head').body, '')
    t.is(one('noContent').status, 204)
    t.deepEqual(
      ring.keepAlive.responses.map((r) => r.body),
      ['/a', '/b']
    )
    t.deepEqual(
      ring.pipelining.responses.map((r) => r.body),
      ['/1', '/2', '/3']
    )
    t.deepEqual(
      ring.expectContinue.responses.map((r) => r.status),
      [100, 200]
    )
    t.true(ring.http10.closed)
    t.is(one('headerTooLarge').status, 431)
    for (const n of ['smuggling', 'badChunk', 'badHeader', 'obsFold']) {
      t.is(one(n).status, 400, n)
      t.true(ring[n].closed, n)
    }
    t.is(one('maxBodySize').status, 413)
    t.true(ring.keepAliveTimeout.closedInTime)
    t.is(one('headersTimeout').status, 408)
    t.is(one('thrownError').body, 'caught boom')
    t.deepEqual(
      ring.statusText.responses.map((r) => `${r.status} ${r.reason}`),
      ['200 OK', '404 Not Found', '299 ', '200 OK', '299 ']
    )
    t.deepEqual(
      ring.http10NullBody.responses.map((r) => r.headers['content-length']),
      ['0', '0', '0', '0', '0', '0']
    )
    t.deepEqual(ring.http10NullBody.closed, [true, true, true, false])
    t.is(JSON.parse(one('upgradeNotTaken').body).body, 'hello')
    t.false(ring.upgradeNotTaken.closed)
    t.is(ring.unixPath.url, `unix://${join(tmpdir(), 'boros-serve-PID.sock')}`)
    t.is(ring.unixAbstract.url, 'abstract://boros-serve-PID/')
    for (const n of ['unixPath', 'unixAbstract']) {
      t.deepEqual(
        ring[n].responses.map((r) => r.body),
        ['http://t/p?q=1', 'http://localhost/x'],
        n
      )
      t.true(ring[n].closed, n)
    }
    t.deepEqual(JSON.parse(one('requestIP').body), {
      ip: { address: '127.0.0.1', family: 'IPv4', port: true },
      other: null,
      clone: null
    })
    // req.signal: aborted when the client goes away before the response (Bun's and Deno's
    // serve; node:http's 'close' before 'finish'), read at once or after; never after a
    // finished response.
    for (const n of ['signalEarlyDestroy', 'signalEarlyEnd', 'signalEarlyReset', 'signalLate']) {
      t.is(ring[n].signal, 'aborted: ECONNRESET aborted', n)
      t.is(ring[n].got, 'nothing', n)
    }
    t.is(ring.signalAfterResponse.signal, 'not aborted')
    t.is(ring.signalAfterResponse.got, 'a response')
  }
)

test.serial('serve() on the node:http fallback gives the same records', async (t) => {
  const out = await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, BOROS_BACKEND: 'fallback' } })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`exit ${code}: ${stderr}`))))
  })
  for (const name of Object.keys(scenarios)) {
    const fallback = normal(out.records[name])
    if (onRing) t.deepEqual(ring[name], fallback, name)
    else t.truthy(fallback.responses.length >= 0)
  }
})

test.serial('serve() validates its handler and returns a server object', (t) => {
  t.throws(() => serve({}), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('stop(true) under a response its client never reads: the send is cancelled and the server stops', async (t) => {
  // 64 MiB cannot all go to a client that never reads: a send stays in flight. A destroy
  // cancels it, as node:net's destroy cancels pending writes; the close used to wait for it,
  // so stop(true) never settled and the process never went idle.
  const s = serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(new Uint8Array(64 << 20)) })
  await s.ready
  const c = createConnection(s.port, '127.0.0.1')
  c.on('error', () => {})
  await new Promise((r) => c.on('connect', r))
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  c.pause()
  await new Promise((r) => setTimeout(r, 300))
  // No clock: a stop that never settles times the test out.
  await s.stop(true)
  c.destroy()
  t.pass('stop(true) settled')
})

test.serial(
  'stop() frees the port at once: serve() again on it in the same tick, with no error from the old server',
  async (t) => {
    // node:http's close() closes the listening descriptor at once; the engine's armed accept
    // held the socket until its cancel completed, so a new serve() on the port failed with
    // EADDRINUSE. The old server now stops listening at stop(), and its accept's end (EINVAL)
    // is not an error.
    // An accept error is reported with console.error.
    const errors = []
    const consoleError = console.error
    console.error = (...args) => errors.push(args.map(String).join(' '))
    try {
      const a = serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('a') })
      await a.ready
      const port = a.port
      const stopped = a.stop()
      const b = serve({ port, hostname: '127.0.0.1', fetch: () => new Response('b') })
      await b.ready
      const body = await (await fetch(`http://127.0.0.1:${port}/`)).text()
      await stopped
      await b.stop(true)
      t.is(body, 'b')
    } finally {
      console.error = consoleError
    }
    t.deepEqual(errors, [])
  }
)

test('request strings equal in length and in the bytes the engine hashes them by stay distinct', async (t) => {
  // src-ts/http/engine-strings.ts looks short strings up by length and three bytes (first,
  // middle, last): these differ elsewhere, so they meet in one slot and only the byte
  // comparison tells them apart; high latin1 bytes decode as node:http decodes them.
  const values = ['abcde', 'aXcde', 'abcXe', 'abcde', 'a\u00e9cde']
  const s = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req) =>
      new Response(`${req.method} ${new URL(req.url).pathname} ${encodeURIComponent(req.headers.get('x-v'))}`)
  })
  await s.ready
  try {
    const reqs = values.map((v, i) => `GET /p${i % 2}q HTTP/1.1\r\nHost: x\r\nX-V: ${v}\r\n\r\n`).join('')
    const r = await exchange(s.port, [Buffer.from(reqs, 'latin1')], { expect: values.length, settle: 50 })
    t.deepEqual(
      r.responses.map((x) => x.body),
      values.map((v, i) => `GET /p${i % 2}q ${encodeURIComponent(v)}`)
    )
  } finally {
    await s.stop(true)
  }
})
