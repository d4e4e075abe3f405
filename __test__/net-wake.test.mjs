// The wake-up epoll (crates/boros-node/src/sock_wake.rs; docs/net.md, "One connection: the
// wake-up without EINTR"): while one receive is armed on the thread its socket is in the
// runtime's own epoll instance, so its wake-up is an epoll event instead of an EINTR. Which
// sockets are in it is read from the kernel itself: /proc/self/fdinfo of an epoll descriptor
// lists every entry with the inode of its file, and /proc/net/tcp gives each socket's inode.
// The peers are node:net sockets (libuv's) on another thread: a peer on this thread would write
// while this thread runs, its bytes would be received (task work on the way out of the write)
// before the thread sleeps, and the epoll would have nothing to report (epoll looks at the
// socket again before it reports it), so the peers pace their writes. Serial: the set is per
// thread, and each test counts on it.
import { once } from 'node:events'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import * as nodeNet from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { stats } from 'boros'
import * as net from 'boros/net'
import { notOnRing, unless } from './helpers/skip.mjs'

const serial = unless(notOnRing, { serial: true })

/** The inode of the TCP socket on 127.0.0.1 whose local port is `local` and remote `remote`. */
function tcpInode(local, remote) {
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, '0')
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    if (f[1] === `0100007F:${hex(local)}` && f[2] === `0100007F:${hex(remote)}`) return Number(f[9])
  }
  return undefined
}

/** The inodes of every file some epoll descriptor of this process watches. */
function watched() {
  const out = []
  for (const fd of readdirSync('/proc/self/fd')) {
    let link
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (link !== 'anon_inode:[eventpoll]') continue
    let info
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
    } catch {
      continue
    }
    for (const m of info.matchAll(/^tfd:.*\bino:([0-9a-f]+)/gm)) out.push(Number.parseInt(m[1], 16))
  }
  return out
}

/** An echo server on the ring; resolves its port and the server sockets by the client's port. */
async function echoServer(t, onSocket = (s) => s.pipe(s)) {
  const bySide = new Map()
  const server = net.createServer((s) => {
    bySide.set(s.remotePort, s)
    onSocket(s)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const s of bySide.values()) s.destroy()
    server.close()
  })
  return { port: server.address().port, bySide, server }
}

/** node:net clients on a worker thread, driven by messages. */
function peers(t) {
  const w = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const net = require('node:net')
    const { once } = require('node:events')
    const conns = new Map()
    parentPort.on('message', async ({ id, op, port, n, bytes }) => {
      let reply = null
      if (op === 'connect') {
        const c = net.connect(port, '127.0.0.1')
        await once(c, 'connect')
        conns.set(c.localPort, c)
        reply = c.localPort
      } else if (op === 'trip') {
        const c = conns.get(id)
        for (let i = 0; i < n; i++) {
          // Paced, so that the server's thread is asleep in epoll when the bytes come.
          await new Promise((r) => setTimeout(r, 5))
          c.write('x')
          await once(c, 'data')
        }
      } else if (op === 'write') {
        conns.get(id).write(Buffer.alloc(bytes, 1))
      } else if (op === 'end') {
        const c = conns.get(id)
        c.end()
        c.resume()
        await once(c, 'close')
      } else if (op === 'wait-close') {
        const c = conns.get(id)
        if (!c.destroyed) await once(c, 'close')
      }
      parentPort.postMessage(reply)
    })
  `,
    { eval: true }
  )
  t.teardown(() => w.terminate())
  let chain = Promise.resolve()
  const call = (msg) => {
    chain = chain.then(() => {
      w.postMessage(msg)
      return once(w, 'message').then(([r]) => r)
    })
    return chain
  }
  return {
    connect: (port) => call({ op: 'connect', port }),
    trip: (id, n = 5) => call({ op: 'trip', id, n }),
    write: (id, bytes) => call({ op: 'write', id, bytes }),
    end: (id) => call({ op: 'end', id }),
    waitClose: (id) => call({ op: 'wait-close', id })
  }
}

serial(
  'one armed receive is in the wake-up epoll; a second takes it out; the first goes back when the second ends',
  async (t) => {
    const { port } = await echoServer(t)
    const p = peers(t)
    const a = await p.connect(port)
    const events0 = stats().wakeEvents
    await p.trip(a)
    const inoA = tcpInode(port, a)
    t.truthy(inoA)
    t.is(stats().wakeSockets, 1)
    t.deepEqual(
      watched().filter((i) => i === inoA),
      [inoA],
      'the server side of the one connection is in one epoll'
    )
    t.true(stats().wakeEvents > events0, 'its bytes woke the thread through it')

    const b = await p.connect(port)
    await p.trip(b)
    const inoB = tcpInode(port, b)
    t.is(stats().wakeSockets, 0)
    const w = watched()
    t.false(w.includes(inoA), 'two armed receives: the first left the epoll')
    t.false(w.includes(inoB), 'and the second did not go in')
    const events1 = stats().wakeEvents
    await p.trip(a)
    await p.trip(b)
    t.is(stats().wakeEvents, events1, 'and neither wakes the thread through it')

    // The second connection ends: its receive ends, and the first is alone again.
    await p.end(b)
    for (let i = 0; i < 200 && stats().wakeSockets === 0; i++) await sleep(5)
    t.is(stats().wakeSockets, 1)
    t.true(watched().includes(inoA), 'back in the epoll')
    const events2 = stats().wakeEvents
    await p.trip(a)
    t.true(stats().wakeEvents > events2)
  }
)

serial('a paused reader with unread bytes does not keep waking the loop', async (t) => {
  let server
  let got = 0
  const { port } = await echoServer(t, (s) => {
    server = s
    s.on('data', (d) => (got += d.length))
    s.once('data', () => s.pause())
  })
  const p = peers(t)
  const c = await p.connect(port)
  const ino = tcpInode(port, c)
  // More than the socket's readable buffer takes: its receive pauses, bytes stay in the kernel.
  await p.write(c, 1 << 20)
  for (let i = 0; i < 400 && stats().wakeSockets !== 0; i++) await sleep(5)
  t.true(server.isPaused())
  // Bytes that arrive for the paused reader, and the ones it leaves in the socket: no event.
  const before = stats().wakeEvents
  for (let i = 0; i < 10; i++) {
    await p.write(c, 1000)
    await sleep(10)
  }
  await sleep(100)
  t.is(stats().wakeEvents - before, 0)
  t.is(stats().wakeSockets, 0, 'the receive paused: out of the epoll')
  t.false(watched().includes(ino))
  // Reading again: back in, and nothing was lost.
  server.resume()
  const want = (1 << 20) + 10_000
  for (let i = 0; i < 400 && got < want; i++) await sleep(5)
  t.is(got, want)
  t.is(stats().wakeSockets, 1)
  t.true(watched().includes(ino))
})

serial('a socket closed while in the wake-up epoll leaves it before its descriptor closes', async (t) => {
  const { port, bySide } = await echoServer(t)
  const p = peers(t)
  const a = await p.connect(port)
  await p.trip(a)
  const inoA = tcpInode(port, a)
  t.true(watched().includes(inoA))
  // Closed by the server while its receive is armed.
  bySide.get(a).destroy()
  t.false(watched().includes(inoA), 'out before the close is even submitted')
  await p.waitClose(a)
  // The next connection (whose descriptor may well get the same number) goes in and wakes.
  const b = await p.connect(port)
  await p.trip(b)
  const inoB = tcpInode(port, b)
  t.is(stats().wakeSockets, 1)
  t.true(watched().includes(inoB))
  t.false(watched().includes(inoA))
  const before = stats().wakeEvents
  await p.trip(b)
  t.true(stats().wakeEvents > before)
})

serial('a worker thread has a wake-up epoll of its own, and exits with its socket in it', async (t) => {
  const code = `
    const { parentPort } = require('node:worker_threads')
    const net = require(${JSON.stringify(fileURLToPath(new URL('../dist/net/index.js', import.meta.url)))})
    const { stats } = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)))})
    const server = net.createServer((s) => s.pipe(s))
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
    // Exits with the socket still open and in the epoll: the teardown closes it all.
    parentPort.on('message', () => {
      const s = stats()
      parentPort.postMessage({ sockets: s.wakeSockets, events: s.wakeEvents })
    })
  `
  const w = new Worker(code, { eval: true })
  const [port] = await once(w, 'message')
  // The peer on this thread (the worker's thread sleeps while it writes).
  const c = nodeNet.connect(port, '127.0.0.1')
  await once(c, 'connect')
  for (let i = 0; i < 5; i++) {
    await sleep(5) // the worker's thread asleep in epoll when the bytes come
    c.write('x')
    await once(c, 'data')
  }
  w.postMessage('stats')
  const [msg] = await once(w, 'message')
  c.destroy()
  const mainEvents = stats().wakeEvents
  t.is(msg.sockets, 1)
  t.true(msg.events > 0)
  t.is(await w.terminate(), 1)
  t.is(stats().wakeEvents, mainEvents, "the worker's events are not this thread's")
})
