// Large response bodies sent from the caller's memory and files as bodies read on the ring
// (boros/http, issue 20): the records of __test__/fixtures/http-bodies.mjs (bodies of 16 KiB - 1
// to 1 MiB from memory, chunked writes of large views, files whole / ranged / empty / missing,
// HEAD, pipelined requests read by a slow reader so that sends come back short, a streamed
// response honouring 'drain' ahead of a large pipelined one) on node:http, createServer() and
// serve(), in this process and on the node:http fallback (BOROS_BACKEND=fallback, a child); then
// the engine's failure paths: a file shorter than its length, a bad descriptor, an abort.
import test from 'ava'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stats } from 'boros'
import { backend, createServer, sendFile, ServerResponse } from 'boros/http'
import { allRecords, makeFiles } from './fixtures/http-bodies.mjs'
import { unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/http-bodies.mjs', import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-http-bodies-'))
makeFiles(dir)
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

const onRing = backend === 'io_uring'
let ring

test.serial('createServer() and serve() send large bodies and files as node:http does', async (t) => {
  // As JSON carries them (the fallback's records come from a child as JSON).
  ring = JSON.parse(JSON.stringify(await allRecords(dir)))
  t.deepEqual(ring.create, ring.node)
  // serve()'s routes are a subset with the same bodies; a missing file is 404 there (Bun.serve's).
  const byPath = new Map(ring.node.map((r) => [r.p, r]))
  for (const r of ring.served) {
    if (r.p.includes('missing')) t.is(r.status, 404)
    else if (r.p.includes('slice')) t.is(r.hash, byPath.get('GET /file?f=big.bin&offset=1000&length=300000').hash)
    else t.deepEqual(r, byPath.get(r.p), r.p)
  }
  if (!onRing) t.log('skipped on the ring: io_uring unavailable here (both APIs ran on node:http)')
})

test.serial('the node:http fallback gives the same records', async (t) => {
  const child = spawn(process.execPath, [fixture, dir], {
    env: { ...process.env, BOROS_BACKEND: 'fallback' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  const code = await new Promise((r) => child.on('close', r))
  t.is(code, 0)
  const fb = JSON.parse(out)
  t.deepEqual(fb.node, ring.node)
  t.deepEqual(fb.create, ring.create)
  t.deepEqual(fb.served, ring.served)
})

/** A createServer() answering with `answer(req, res)`; one raw GET; what came back and what the handler saw. */
async function engineCase(answer, { slow = false, close = false } = {}) {
  let seen
  const srv = createServer((req, res) => {
    seen = answer(req, res).then(
      (v) => ({ ok: v }),
      (e) => ({ err: e })
    )
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  try {
    const got = await new Promise((resolve, reject) => {
      const s = net.connect(srv.address().port, '127.0.0.1', () =>
        s.write(`GET / HTTP/1.1\r\nHost: x\r\n${close ? 'Connection: close\r\n' : ''}\r\n`)
      )
      let n = 0
      let head = ''
      s.on('data', (c) => {
        if (head === '') head = c.toString('latin1').split('\r\n')[0]
        n += c.length
        if (slow) {
          s.pause()
          setTimeout(() => s.resume(), 20)
        }
      })
      s.on('close', () => resolve({ head, n, closed: true }))
      s.on('error', reject)
      // A safety net (every case here ends with the connection closed): 3 s, as it was, was
      // not enough for a loaded machine to abort a slow 64 MiB send (Node 22.5, three suites).
      setTimeout(() => resolve({ head, n, closed: false }), 60_000).unref()
    })
    return { got, result: await seen }
  } finally {
    srv.closeAllConnections()
    srv.close()
  }
}

const big = () => path.join(dir, 'big.bin')
const ringOnly = unless(onRing ? undefined : `boros/http is on the ${backend} backend here`, { serial: true })

ringOnly(
  'a file shorter than its length: ERR_HTTP_CONTENT_LENGTH_MISMATCH, the connection closes after its bytes',
  async (t) => {
    const short = path.join(dir, 'short.bin')
    fs.writeFileSync(short, Buffer.alloc(1000, 7))
    const { got, result } = await engineCase(async (req, res) => {
      const fd = fs.openSync(short, 'r')
      try {
        res.setHeader('content-length', 5000)
        return await ServerResponse._sendFile(res, fd, 0, 5000)
      } finally {
        fs.closeSync(fd)
      }
    })
    t.is(result.err?.code, 'ERR_HTTP_CONTENT_LENGTH_MISMATCH')
    t.true(got.closed)
    t.is(got.head, 'HTTP/1.1 200 OK')
    t.true(got.n > 1000 && got.n < 5000)
  }
)

ringOnly('a descriptor that is not open: EBADF, and the connection closes', async (t) => {
  // Far above any descriptor this process has (a closed one's number is soon reused).
  const fd = 1 << 20
  const { got, result } = await engineCase(async (req, res) => {
    res.setHeader('content-length', 10)
    return ServerResponse._sendFile(res, fd, 0, 10)
  })
  t.is(result.err?.code, 'EBADF')
  t.is(result.err?.syscall, 'read')
  t.true(got.closed)
})

test.serial('an abort mid-file destroys the response and its connection (AbortError)', async (t) => {
  // 64 MiB (sparse: made at once) read slowly: far more than the socket buffers hold.
  const huge = path.join(dir, 'huge.bin')
  fs.writeFileSync(huge, '')
  fs.truncateSync(huge, 64 * 1024 * 1024)
  const ac = new AbortController()
  const { got, result } = await engineCase(
    async (req, res) => {
      setTimeout(() => ac.abort(), 100)
      return sendFile(res, huge, { signal: ac.signal })
    },
    { slow: true }
  )
  t.is(result.err?.name, 'AbortError')
  t.true(got.closed)
  t.true(got.n < 64 * 1024 * 1024)
})

ringOnly(
  "a client's FIN after a file response's head: the file is read no more and released, the connection closed",
  async (t) => {
    // 64 MiB (sparse): 256 reads of FILE_CHUNK (256 KiB) if it were read to its end. The client
    // half-closes after the head, reading on or not reading at all: node:http (httpAllowHalfOpen
    // false) ends the socket at the FIN, the file stream's next write fails and destroys it.
    // Before, a client that did not read held the file (and the connection) for good.
    const huge = path.join(dir, 'huge-fin.bin')
    fs.writeFileSync(huge, '')
    fs.truncateSync(huge, 64 * 1024 * 1024)
    for (const reading of [true, false]) {
      let result
      const settled = new Promise((resolve) => {
        result = resolve
      })
      const srv = createServer(async (_req, res) => {
        const before = stats().opsSubmitted
        try {
          await sendFile(res, huge)
          result({ sent: true })
        } catch (err) {
          // Every op this process submitted meanwhile (the reads, the sends, the socket's).
          result({ code: err.code, ops: stats().opsSubmitted - before })
        }
      })
      await new Promise((r) => srv.listen(0, '127.0.0.1', r))
      const s = net.connect(srv.address().port, '127.0.0.1')
      s.on('error', () => {})
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      s.once('data', () => {
        if (!reading) s.pause()
        s.end()
      })
      try {
        const r = await settled
        t.is(r.code, 'ECONNRESET', `reading: ${reading}`)
        t.true(r.ops < 128, `reading: ${reading}, ${r.ops} ops`)
      } finally {
        s.destroy()
        srv.closeAllConnections()
        srv.close()
      }
    }
  }
)

test.serial('sendFile() on a file that cannot be opened rejects before the head leaves', async (t) => {
  const { got, result } = await engineCase(
    async (req, res) => {
      try {
        return await sendFile(res, path.join(dir, 'missing'))
      } catch (e) {
        res.statusCode = 404
        res.end()
        throw e
      }
    },
    { close: true }
  )
  t.is(result.err?.code, 'ENOENT')
  t.is(got.head, 'HTTP/1.1 404 Not Found')
})
