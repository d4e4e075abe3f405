// Large response bodies sent with zero copy (boros/http, `SENDMSG_ZC`, Linux 6.1): pipelined
// requests answered with distinct large bodies arrive intact and in order through a slow reader
// (short sends, whose rest shares the memory the kernel may still read), from createServer()
// (the caller's Buffer, lent) and serve() (held bodies); a client that resets mid-body leaves the
// server serving; a worker whose peer stalls mid-body still exits (the teardown resets the
// connections that wait for a notification). On the fallback backend the same exchanges run on
// node:http (the zero-copy counters stay 0).
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { stats } from 'boros'
import { backend, createServer, serve } from 'boros/http'
import { unless } from './helpers/skip.mjs'

// Every large body with zero copy, even where the kernel copies (loopback): by default a
// connection stops after its first (the addon reads this at its first send, after this line).
process.env.BOROS_HTTP_ZC ??= 'always'

const onRing = backend === 'io_uring'
const ringOnly = unless(onRing ? undefined : `boros/http is on the ${backend} backend here`, { serial: true })
const SIZES = [64 * 1024, 300 * 1000 + 7, 1024 * 1024, 96 * 1024, 2 * 1024 * 1024 + 1]

/** A body of `n` bytes that differs with `i` everywhere (a misplaced piece shows). */
function bodyOf(i, n) {
  const b = Buffer.allocUnsafe(n)
  for (let k = 0; k < n; k++) b[k] = (k * 31 + i * 7 + (k >> 12)) & 0xff
  return b
}
const hash = (b) => createHash('sha256').update(b).digest('hex')

/**
 * Sends `count` pipelined GETs of `/i` in one write and reads the responses slowly (paused
 * 5 ms every 256 KiB); returns each body's length and hash, in order.
 */
function pipelined(port, count) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let reqs = ''
    for (let i = 0; i < count; i++) reqs += `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`
    s.write(reqs)
    let buf = Buffer.alloc(0)
    let since = 0
    const out = []
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c])
      since += c.length
      if (since > 256 * 1024) {
        since = 0
        s.pause()
        setTimeout(() => s.resume(), 5)
      }
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) break
        const head = buf.subarray(0, end).toString('latin1')
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1])
        if (!head.startsWith('HTTP/1.1 200') || !(len >= 0)) return reject(new Error(`bad head: ${head}`))
        if (buf.length < end + 4 + len) break
        const body = buf.subarray(end + 4, end + 4 + len)
        out.push({ n: body.length, h: hash(body) })
        buf = buf.subarray(end + 4 + len)
        if (out.length === count) {
          s.end()
          return resolve(out)
        }
      }
    })
    s.on('error', reject)
    setTimeout(() => reject(new Error(`timed out with ${out.length} of ${count} responses`)), 20_000).unref()
  })
}

const want = SIZES.map((n, i) => ({ n, h: hash(bodyOf(i, n)) }))

test.serial('createServer(): pipelined large bodies arrive intact and in order through a slow reader', async (t) => {
  const bodies = SIZES.map((n, i) => bodyOf(i, n))
  const srv = createServer((req, res) => {
    const i = Number(req.url.slice(1))
    // Answered out of order: the engine keeps request order.
    setTimeout(() => res.end(bodies[i]), (SIZES.length - i) * 3)
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const before = stats().httpZeroCopySends
  try {
    t.deepEqual(await pipelined(srv.address().port, SIZES.length), want)
    if (onRing) t.true(stats().httpZeroCopySends > before, 'bodies went with zero copy')
  } finally {
    srv.closeAllConnections()
    srv.close()
  }
})

test.serial('serve(): pipelined large held bodies arrive intact and in order through a slow reader', async (t) => {
  const bodies = SIZES.map((n, i) => bodyOf(i, n))
  const s = serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req) => new Response(bodies[Number(new URL(req.url).pathname.slice(1))])
  })
  await s.ready
  const before = stats().httpZeroCopySends
  try {
    // Twice on one server: the second round's bodies are shared copies of the first's.
    t.deepEqual(await pipelined(s.port, SIZES.length), want)
    t.deepEqual(await pipelined(s.port, SIZES.length), want)
    if (onRing) t.true(stats().httpZeroCopySends > before, 'bodies went with zero copy')
  } finally {
    await s.stop(true)
  }
})

test.serial('a client that resets mid-body: the response closes and the server keeps serving', async (t) => {
  const huge = bodyOf(1, 32 * 1024 * 1024)
  const small = bodyOf(2, 128 * 1024)
  let closed
  const srv = createServer((req, res) => {
    if (req.url === '/huge') closed = new Promise((r) => res.on('close', r))
    res.end(req.url === '/huge' ? huge : small)
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  try {
    const got = await new Promise((resolve, reject) => {
      const s = net.connect(srv.address().port, '127.0.0.1', () => s.write('GET /huge HTTP/1.1\r\nHost: x\r\n\r\n'))
      let n = 0
      s.on('data', (c) => {
        n += c.length
        if (n > 1024 * 1024) {
          s.resetAndDestroy()
          resolve(n)
        }
      })
      s.on('error', reject)
    })
    t.true(got < huge.length)
    await closed
    const after = await pipelined(srv.address().port, 1)
    t.deepEqual(after, [{ n: small.length, h: hash(small) }])
  } finally {
    srv.closeAllConnections()
    srv.close()
  }
})

ringOnly('by default a connection stops sending with zero copy once the kernel says it copied', async (t) => {
  // A child with the default mode: five responses on one keep-alive connection over loopback.
  const code = `
    import { stats } from 'boros'
    import { createServer } from 'boros/http'
    const body = Buffer.alloc(256 * 1024, 5)
    const srv = createServer((req, res) => res.end(body))
    srv.listen(0, '127.0.0.1', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await fetch('http://127.0.0.1:' + srv.address().port + '/')
        if ((await r.arrayBuffer()).byteLength !== body.length) process.exit(3)
      }
      const s = stats()
      console.log(JSON.stringify({ sends: s.httpZeroCopySends, copied: s.httpZeroCopyCopied }))
      srv.closeAllConnections()
      srv.close()
    })`
  const env = { ...process.env }
  delete env.BOROS_HTTP_ZC
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' })
  const { sends, copied } = JSON.parse(out)
  // Loopback copies: one zero-copy send (two if the second left before the first's notification).
  t.true(sends >= 1 && sends <= 2, `sends ${sends}`)
  t.is(copied, sends)
})

ringOnly('a worker whose client stalls mid-body exits (its teardown does not wait for the peer)', async (t) => {
  const code = `
    const { parentPort } = require('node:worker_threads')
    import('boros/http').then(({ createServer }) => {
      const body = Buffer.alloc(64 * 1024 * 1024, 7)
      const srv = createServer((req, res) => { res.end(body); parentPort.postMessage('answered') })
      srv.listen(0, '127.0.0.1', () => parentPort.postMessage(srv.address().port))
    })`
  const w = new Worker(code, { eval: true })
  const port = await new Promise((r) => w.once('message', r))
  // A client that asks, then never reads: the socket buffers fill, the send waits.
  const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  s.pause()
  await new Promise((r) => w.once('message', r))
  await new Promise((r) => setTimeout(r, 200))
  // No clock: a worker that never exits times the test out.
  const exited = new Promise((r) => w.once('exit', r))
  await w.terminate()
  t.is(await exited, 1, 'terminate() ended the worker')
  s.destroy()
})
