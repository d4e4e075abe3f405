// boros/net beyond the differential suite: what node:net has no counterpart for (reusePort
// across worker threads, the low-level Conn API, stats counters), process liveness (ref/unref),
// worker teardown with sockets open, and the fallback's identity.
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import * as nodeNet from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { stats } from 'boros'
import * as net from 'boros/net'
import { notOnRing, unless } from './helpers/skip.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const netModule = fileURLToPath(new URL('../dist/net/index.js', import.meta.url))

// A child still running after `timeoutMs` is killed (SIGKILL): a safety net for a child that
// would never exit (a test then fails on its signal), not a bound any passing run comes near.
function node(code, env = {}, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', code], { cwd: root, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', reject)
    p.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

// Off the ring the workers' servers are node:net's (reusePort there needs Node 22.12+).
unless(notOnRing)('reusePort: two worker threads, each with its own ring, share one port', async (t) => {
  const probe = nodeNet.createServer()
  await new Promise((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address()
  await new Promise((r) => probe.close(r))
  const code = `
    const { parentPort, threadId } = require('node:worker_threads')
    const net = require(${JSON.stringify(netModule)})
    const server = net.createServer((s) => s.end(String(threadId)))
    server.on('error', (e) => parentPort.postMessage({ error: e.message }))
    server.listen({ port: ${port}, host: '127.0.0.1', reusePort: true }, () => parentPort.postMessage({ listening: threadId, backend: net.backend }))
    parentPort.on('message', () => server.close(() => parentPort.close()))
  `
  const workers = [new Worker(code, { eval: true }), new Worker(code, { eval: true })]
  const ready = await Promise.all(workers.map((w) => once(w, 'message').then(([m]) => m)))
  t.deepEqual(
    ready.map((m) => m.backend),
    ['io_uring', 'io_uring'],
    JSON.stringify(ready)
  )
  const seen = new Map()
  for (let i = 0; i < 64; i++) {
    const c = nodeNet.connect(port, '127.0.0.1')
    let id = ''
    c.on('data', (d) => (id += d))
    await once(c, 'close')
    seen.set(id, (seen.get(id) ?? 0) + 1)
  }
  t.is(seen.size, 2, `connections per worker: ${JSON.stringify([...seen])}`)
  for (const w of workers) w.postMessage('close')
  await Promise.all(workers.map((w) => once(w, 'exit')))
})

test('a worker terminated with sockets open and data in flight: no crash, the main thread goes on', async (t) => {
  const code = `
    const { parentPort } = require('node:worker_threads')
    const net = require(${JSON.stringify(netModule)})
    const server = net.createServer((s) => s.pipe(s))
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      for (let i = 0; i < 20; i++) {
        const c = net.connect(port, '127.0.0.1', () => {
          const chunk = Buffer.alloc(256 * 1024, i)
          const pump = () => { while (c.write(chunk)); }
          c.on('drain', pump)
          pump()
        })
        c.resume()
      }
      setTimeout(() => parentPort.postMessage('busy'), 100)
    })
  `
  for (let round = 0; round < 3; round++) {
    const w = new Worker(code, { eval: true })
    await once(w, 'message')
    await w.terminate()
  }
  // The main thread's ring still works.
  const server = net.createServer((s) => s.pipe(s))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const c = net.connect(server.address().port, '127.0.0.1')
  const chunks = []
  c.on('data', (d) => chunks.push(d))
  c.end('after the workers')
  await once(c, 'close')
  t.is(Buffer.concat(chunks).toString(), 'after the workers')
  await new Promise((r) => server.close(r))
})

test('unref(): a process with only an unref’d server (and unref’d sockets) exits; a ref’d one stays', async (t) => {
  const unrefd = await node(`
    const net = require('./dist/net/index.js')
    const server = net.createServer((s) => s.unref().resume())
    server.listen(0, '127.0.0.1', () => {
      server.unref()
      const c = net.connect(server.address().port, '127.0.0.1', () => { c.unref(); console.log('connected') })
    })
  `)
  t.is(unrefd.code, 0, unrefd.stderr)
  t.is(unrefd.stdout.trim(), 'connected')
  const unrefBefore = await node(`
    const net = require('./dist/net/index.js')
    net.createServer().unref().listen(0, () => console.log('listening'))
  `)
  t.is(unrefBefore.code, 0, unrefBefore.stderr)
  t.is(unrefBefore.stdout.trim(), 'listening')
  // A ref'd server keeps the loop alive: an unref'd timer fires only while something else keeps
  // the loop going (with nothing ref'd, Node exits without running it), and its close() then
  // lets the process exit by itself. No time limit: the child either says 'alive' or exits
  // first (beforeExit says whether the server was still listening then).
  const staysAlive = (listened) =>
    node(`
    const net = require('./dist/net/index.js')
    const s = net.createServer()
    process.on('beforeExit', () => console.log(s.listening ? 'exiting while listening' : 'closed'))
    s.listen(0, () => {
      ${listened}
      console.log('listening')
      setTimeout(() => { console.log('alive'); s.close() }, 50).unref()
    })
  `)
  const refd = await staysAlive('')
  t.is(refd.code, 0, refd.stderr)
  t.is(refd.stdout, 'listening\nalive\nclosed\n', 'a listening server keeps the process alive')
  const reref = await staysAlive('s.unref(); s.ref()')
  t.is(reref.code, 0, reref.stderr)
  t.is(reref.stdout, 'listening\nalive\nclosed\n', 'ref() after unref() keeps it alive again')
})

test('closing a socket under a send its peer never reads: the send is cancelled and the process exits, as with node:net', async (t) => {
  // The peer (node:net, paused) never reads, so 64 MiB cannot all go: a send stays in flight.
  // node:net's close cancels its pending write; a ring send holds the file past the close, so
  // without a cancel the process never went idle (killed by `node()`'s safety net here).
  const run = (lib, close) =>
    node(`
      const nodeNet = require('node:net')
      const net = require(${JSON.stringify(lib)})
      const peer = nodeNet.createServer((s) => s.pause()).listen(0, '127.0.0.1', () => {
        peer.unref()
        const c = net.connect(peer.address().port, '127.0.0.1', () => {
          const ok = c.write(Buffer.alloc(64 * 1024 * 1024), (err) => console.log('write', err ? err.code : 'ok'))
          setTimeout(() => { console.log('pending', c.writableLength > 0, ok); ${close} }, 100)
        })
        c.on('error', (e) => console.log('error', e.code))
        c.on('close', () => console.log('close'))
      })
    `)
  for (const close of ['c.destroy()', 'c.resetAndDestroy()']) {
    const theirs = await run('node:net', close)
    const ours = await run(netModule, close)
    t.is(theirs.code, 0, theirs.stderr)
    t.is(ours.code, 0, `${close}: ${ours.signal ?? ''} ${ours.stderr}`)
    t.is(ours.stdout, theirs.stdout, close)
  }
})

test.serial('stats() counts open sockets and listeners', async (t) => {
  const s0 = stats()
  const server = net.createServer((s) => s.resume())
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const c = net.connect(server.address().port, '127.0.0.1')
  await Promise.all([once(c, 'connect'), once(server, 'connection')])
  const s1 = stats()
  const counted = notOnRing === undefined ? 1 : 0 // node:net's sockets (off the ring) are not boros'
  t.is(s1.listeners, s0.listeners + counted)
  t.is(s1.sockets, s0.sockets + 2 * counted)
  c.end()
  await new Promise((r) => server.close(r))
  const s2 = stats()
  t.is(s2.listeners, s0.listeners)
  t.is(s2.sockets, s0.sockets)
})

test('bad arguments never reach the ring', (t) => {
  const before = stats().opsSubmitted
  t.throws(() => net.connect(70000), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => net.createServer().listen({ port: 65536 }), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => net.connect({ port: 80, host: 5 }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => net.connect({ port: 80, host: '127.0.0.1', localAddress: 'x' }), { code: 'ERR_INVALID_IP_ADDRESS' })
  t.is(stats().opsSubmitted, before)
})

test('low-level: listen() / dial(), for await, write, writev, shutdown, close', async (t) => {
  const listener = await net.listen({ port: 0, host: '127.0.0.1' })
  const { port } = listener.address()
  const served = (async () => {
    for await (const conn of listener) {
      for await (const chunk of conn) await conn.write(chunk)
      await conn.shutdown()
      await conn.close()
      return
    }
  })()
  const conn = await net.dial({ host: '127.0.0.1', port })
  t.is(conn.remoteAddress().port, port)
  await conn.write('hello ')
  await conn.writev([Buffer.from('low '), Buffer.from('level')])
  await conn.shutdown()
  const got = []
  for await (const chunk of conn) got.push(chunk)
  t.is(Buffer.concat(got).toString(), 'hello low level')
  t.is(conn.bytesRead, 15)
  t.is(conn.bytesWritten, 15)
  await conn.close()
  t.is(await conn.read(), null)
  await served
  await listener.close()
})

test('low-level: a chunk stays intact after more data arrives (its memory is never reused)', async (t) => {
  const listener = await net.listen({ port: 0, host: '127.0.0.1' })
  const conn = await net.dial({ host: '127.0.0.1', port: listener.address().port })
  const peer = await listener.accept()
  await conn.write(Buffer.alloc(1000, 0xaa))
  const first = await peer.read()
  const copy = Buffer.from(first)
  for (let i = 0; i < 50; i++) await conn.write(Buffer.alloc(16 * 1024, i))
  let n = 0
  while (n < 50 * 16 * 1024 + 1000 - first.length) n += (await peer.read()).length
  t.true(first.equals(copy))
  await conn.close()
  await peer.close()
  await listener.close()
})

test('a large receive is a Buffer of its own memory (on the ring), and every byte arrives', async (t) => {
  // A receive of 8 KiB or more comes from the binding as an ArrayBuffer of its exact size, made a
  // Buffer in JS (binding.ts onComplete, segments.rs create_array_buffer): every chunk must still
  // be a real Buffer, a large one must pin nothing but its own bytes, and no byte may be lost.
  // On the fallback (node:net itself) only the first and the last hold: Node 24's reads are
  // views of a 64 KiB allocation they do not shrink (Node 20's are exact).
  const sent = Buffer.alloc(1 << 20)
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 12)) & 0xff
  const chunks = []
  let ended
  const done = new Promise((r) => (ended = r))
  const server = net.createServer((s) => {
    s.on('data', (d) => chunks.push(d))
    s.on('end', () => {
      s.end()
      ended()
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const client = nodeNet.connect(server.address().port, '127.0.0.1')
  client.resume()
  client.end(sent)
  await done
  await new Promise((r) => server.close(r))
  t.true(chunks.every((c) => Buffer.isBuffer(c) && c instanceof Buffer))
  const large = chunks.filter((c) => c.length >= 8 * 1024)
  t.true(large.length > 0, `no receive of 8 KiB or more among ${chunks.length}`)
  if (net.backend === 'io_uring')
    for (const c of large) {
      t.is(c.byteOffset, 0)
      t.is(c.buffer.byteLength, c.length)
    }
  t.true(Buffer.concat(chunks).equals(sent))
})

test('low-level: { signal, timeout } on read, accept and dial; nothing received is lost', async (t) => {
  const listener = await net.listen({ port: 0, host: '127.0.0.1' })
  const { port } = listener.address()
  await t.throwsAsync(listener.accept({ timeout: 50 }), { code: 'ETIMEDOUT' })
  await t.throwsAsync(listener.accept({ signal: AbortSignal.abort() }), { name: 'AbortError' })
  const conn = await net.dial({ host: '127.0.0.1', port })
  const peer = await listener.accept({ timeout: 5000 })
  const timedOut = await peer.read({ timeout: 50 }).catch((e) => e)
  t.like(timedOut, { code: 'ETIMEDOUT', syscall: 'read' })
  const ac = new AbortController()
  const pending = peer.read({ signal: ac.signal })
  ac.abort()
  await t.throwsAsync(pending, { name: 'AbortError' })
  await conn.write('kept')
  t.is((await peer.read({ timeout: 5000 })).toString(), 'kept')
  const aborted = new AbortController()
  const dialing = net.dial({ host: '127.0.0.1', port, signal: aborted.signal })
  aborted.abort()
  await t.throwsAsync(dialing, { name: 'AbortError' })
  await listener.close()
  const refused = await net.dial({ host: '127.0.0.1', port }).catch((e) => e)
  t.like(refused, { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port })
  t.is(refused.message, `connect ECONNREFUSED 127.0.0.1:${port}`)
  await conn.close()
  await peer.close()
})

/** Bytes in the kernel's receive queue of the TCP socket 127.0.0.1:`port` → 127.0.0.1:`peerPort` (/proc/net/tcp's rx_queue). */
function kernelReceiveQueue(port, peerPort) {
  const addr = (p) => `0100007F:${p.toString(16).toUpperCase().padStart(4, '0')}`
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[1] === addr(port) && f[2] === addr(peerPort)) return Number.parseInt(f[4].split(':')[1], 16)
  }
  throw new Error(`no socket 127.0.0.1:${port} -> 127.0.0.1:${peerPort} in /proc/net/tcp`)
}

test('low-level: an unread connection stops receiving at its highWaterMark', async (t) => {
  const listener = await net.listen({ port: 0, host: '127.0.0.1', highWaterMark: 64 * 1024 })
  const conn = await net.dial({ host: '127.0.0.1', port: listener.address().port })
  const peer = await listener.accept()
  const chunk = Buffer.alloc(1 << 20)
  const writes = []
  for (let i = 0; i < 32; i++) writes.push(conn.write(chunk))
  // Receiving has stopped once bytes wait in the kernel for the peer's socket and several turns
  // of the loop in a row take none of them (a receive still armed would have had them at once).
  // No clock: a peer that goes on receiving gets all 32 MiB, and the loop ends there.
  const [port, peerPort] = [peer.address().port, conn.address().port]
  let turns = 0
  let last = -1
  while (turns < 10 && peer.bytesRead < 32 << 20) {
    await new Promise((r) => setImmediate(r))
    const taken = peer.bytesRead
    turns = kernelReceiveQueue(port, peerPort) > 0 && taken === last ? turns + 1 : 0
    last = taken
  }
  t.true(peer.bytesRead < 16 << 20, `received ${peer.bytesRead} bytes of 32 MiB while nobody read`)
  let total = 0
  while (total < 32 << 20) total += (await peer.read()).length
  await Promise.all(writes)
  t.is(total, 32 << 20)
  await conn.close()
  await peer.close()
  await listener.close()
})

test('fallback: boros/net is node:net, and the low-level API runs on it', async (t) => {
  const r = await node(
    `
    const net = require('./dist/net/index.js')
    const nodeNet = require('node:net')
    const { runtime } = require('./dist/index.js')
    ;(async () => {
      const same = [net.Socket === nodeNet.Socket, net.Server === nodeNet.Server, net.createServer === nodeNet.createServer, net.connect === nodeNet.connect, net.createConnection === nodeNet.connect, net.isIP === nodeNet.isIP]
      const l = await net.listen({ port: 0, host: '127.0.0.1' })
      const c = await net.dial({ host: '127.0.0.1', port: l.address().port })
      const p = await l.accept()
      await c.write('fallback')
      await c.shutdown()
      const got = []
      for await (const b of p) got.push(b)
      await c.close(); await p.close(); await l.close()
      console.log(JSON.stringify({ backend: net.backend, runtime: runtime().backend, same, got: Buffer.concat(got).toString() }))
    })()
  `,
    { BOROS_BACKEND: 'fallback' }
  )
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), {
    backend: 'node:net',
    runtime: 'fallback',
    same: [true, true, true, true, true, true],
    got: 'fallback'
  })
})

test('node:http serves boros/net sockets, and an agent connects through them', async (t) => {
  const http = await import('node:http')
  const hs = http.createServer((req, res) => res.end(`hello ${req.url}`))
  const server = net.createServer((s) => hs.emit('connection', s))
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  const agent = new http.Agent({ keepAlive: true })
  const sockets = []
  agent.createConnection = (opts, cb) => {
    const s = net.connect(opts.port, opts.host, cb)
    sockets.push(s)
    return s
  }
  const bodies = []
  for (let i = 0; i < 3; i++) {
    bodies.push(
      await new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: `/${i}`, agent }, (res) => {
            let b = ''
            res.on('data', (d) => (b += d))
            res.on('end', () => resolve(`${res.statusCode} ${b}`))
          })
          .on('error', reject)
      })
    )
  }
  t.deepEqual(bodies, ['200 hello /0', '200 hello /1', '200 hello /2'])
  t.is(sockets.length, 1, 'keep-alive reused the boros socket')
  t.true(sockets[0] instanceof net.Socket)
  t.is(await fetch(`http://127.0.0.1:${port}/fetch`).then((r) => r.text()), 'hello /fetch')
  agent.destroy()
  hs.closeAllConnections()
  hs.close()
  await new Promise((r) => server.close(r))
})

test('boros doctor lists what boros/net needs', (t) => {
  const r = spawnSync(process.execPath, ['bin/boros.js', 'doctor', '--json'], { cwd: root, encoding: 'utf8' })
  const report = JSON.parse(r.stdout)
  t.deepEqual(
    report.net.map((f) => f.op),
    ['accept', 'recv', 'connect', 'send', 'sendmsg', 'shutdown', 'close', 'async_cancel']
  )
  t.true(report.net.every((f) => f.supported === true))
  t.is(report.net[1].since, '6.0')
  // The socket wake-up check (issue 24 item 10): both setups measured on a throwaway ring.
  t.is(typeof report.wakeUp.coopMs, 'number')
  t.is(typeof report.wakeUp.deferMs, 'number')
  t.is(report.wakeUp.deferDelayed, report.wakeUp.deferMs > 2)
  // The runtime sleeps on a COOP_TASKRUN ring's own fd: it must be woken (the probe's poll
  // gives up after 200 ms).
  t.true(report.wakeUp.coopMs < 100, `COOP ring fd wake-up ${report.wakeUp.coopMs} ms`)
  t.log(`socket wake-up: COOP_TASKRUN ${report.wakeUp.coopMs} ms, DEFER_TASKRUN ${report.wakeUp.deferMs} ms`)
})

test('out of descriptors while accepting (EMFILE): no error event, as node:net, and accepting resumes', async (t) => {
  const run = (impl) =>
    new Promise((resolve, reject) => {
      const code = `
        const net = require(${JSON.stringify(impl)})
        const errors = []
        const sockets = []
        let freeing = false
        let held = 0
        const server = net.createServer((s) => {
          s.on('error', () => {})
          if (freeing) s.destroy()
          else sockets.push(s)
        })
        server.on('error', (e) => errors.push(e.code))
        server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))
        process.stdin.on('data', (d) => {
          if (String(d).startsWith('free')) {
            freeing = true
            held = sockets.length
            for (const s of sockets.splice(0)) s.destroy()
          } else {
            server.close()
            process.stdout.write(JSON.stringify({ errors, held }) + '\\n')
          }
        })
      `
      const p = spawn('sh', ['-c', `ulimit -n 48; exec "${process.execPath}" -e '${code.replace(/'/g, "'\\''")}'`], {
        cwd: root
      })
      let out = ''
      let started = false
      let served
      p.stdout.on('data', async (d) => {
        out += d
        const lines = out.split('\n')
        if (lines.length === 2 && !started) {
          started = true
          const port = Number(lines[0])
          // More connections than the child has descriptors for.
          const closed = Array.from(
            { length: 80 },
            () =>
              new Promise((r) => {
                const c = nodeNet.connect(port, '127.0.0.1')
                c.on('error', () => r('error'))
                c.on('close', () => r('closed'))
                // A safety net (was 5 s, which a loaded machine can take to serve 80).
                c.setTimeout(60_000, () => {
                  c.destroy()
                  r('timeout')
                })
              })
          )
          await sleep(500)
          p.stdin.write('free\n')
          served = await Promise.all(closed)
          p.stdin.write('done\n')
        } else if (lines.length >= 3 && served !== undefined) {
          resolve({ ...JSON.parse(lines[1]), closed: served.filter((x) => x === 'closed').length })
          p.kill()
        }
      })
      p.on('error', reject)
    })
  const expected = await run('node:net')
  const actual = await run(netModule)
  // Both ran out of descriptors before the peer's 80 connections were in.
  t.true(expected.held > 0 && expected.held < 80, `node:net held ${expected.held}`)
  t.true(actual.held > 0 && actual.held < 80, `boros/net held ${actual.held}`)
  t.deepEqual({ ...expected, held: 0 }, { errors: [], closed: 80, held: 0 })
  t.deepEqual({ ...actual, held: 0 }, { ...expected, held: 0 })
})
