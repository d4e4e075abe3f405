// The readiness slot (crates/boros-node/src/runtime/readiness.rs, docs/net.md "One connection
// by readiness"): the first boros/net receive armed on a thread while the slot is free is
// received as node:net receives (libuv polls the socket, `recv(2)` in the callback), every
// other one on the ring. `stats().readinessReads` counts the slot's reads that brought bytes,
// which is how these tests tell which path a socket took. Peers are node:net sockets, which
// never touch the slot.
import test from 'ava'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import * as nodeNet from 'node:net'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { runtime, stats } from '../dist/index.js'
import * as bnet from '../dist/net/index.js'

const HOST = '127.0.0.1'
const serial =
  runtime().backend === 'io_uring'
    ? test.serial
    : (title, fn) => test.serial.skip(`${title} — skipped: this process is on the ${runtime().backend} backend`, fn)
const reads = () => stats().readinessReads

/** A boros/net server; `accept()` resolves with the next accepted socket and its node:net peer. */
async function server() {
  const waiting = []
  const srv = bnet.createServer((s) => waiting.shift()(s))
  await new Promise((resolve) => srv.listen(0, HOST, resolve))
  return {
    srv,
    async accept() {
      const accepted = new Promise((resolve) => waiting.push(resolve))
      const peer = nodeNet.connect(srv.address().port, HOST)
      await once(peer, 'connect')
      return { s: await accepted, peer }
    },
    close: () => new Promise((resolve) => srv.close(resolve))
  }
}

/** Resolves with the next `n` bytes `s` emits ('data'). */
function bytes(s, n) {
  return new Promise((resolve) => {
    const chunks = []
    let got = 0
    const on = (d) => {
      chunks.push(d)
      got += d.length
      if (got >= n) {
        s.off('data', on)
        resolve(Buffer.concat(chunks))
      }
    }
    s.on('data', on)
  })
}

/** `n` one-byte round trips through an echo on the ring: the loop has gone round that often. */
async function turns(echoPeer, n) {
  for (let i = 0; i < n; i++) {
    const back = once(echoPeer, 'data')
    echoPeer.write('t')
    await back
  }
}

serial('the first receive takes the slot; a second one, armed meanwhile, is on the ring', async (t) => {
  const h = await server()
  const a = await h.accept()
  const before = reads()
  const gotA = bytes(a.s, 5)
  a.peer.write('hello')
  t.is((await gotA).toString(), 'hello')
  t.true(reads() > before, 'the first socket was read by readiness')

  const b = await h.accept()
  b.s.on('data', (d) => b.s.write(d))
  const mid = reads()
  await turns(b.peer, 50)
  t.is(reads(), mid, 'the second socket’s 50 messages did not go through the slot')

  const gotA2 = bytes(a.s, 3)
  a.peer.write('abc')
  t.is((await gotA2).toString(), 'abc')
  t.true(reads() > mid, 'the first one still is')
  for (const c of [a, b]) {
    c.peer.destroy()
    c.s.destroy()
  }
  await h.close()
})

serial('a closed socket frees the slot for the next one, and libuv no longer watches its number', async (t) => {
  const h = await server()
  const a = await h.accept()
  const gotA = bytes(a.s, 1)
  a.peer.write('x')
  await gotA
  a.s.destroy()
  await once(a.peer, 'close')
  // A node:net socket opened now may get the closed descriptor's number: if libuv still
  // watched that number for the slot, the slot's recv(2) would take this socket's bytes.
  const side = nodeNet.createServer((s) => s.on('data', (d) => s.write(d)))
  await new Promise((resolve) => side.listen(0, HOST, resolve))
  const n = nodeNet.connect(side.address().port, HOST)
  await once(n, 'connect')
  const back = bytes(n, 4)
  n.write('ping')
  t.is((await back).toString(), 'ping')
  n.destroy()
  await new Promise((resolve) => side.close(resolve))

  const c = await h.accept()
  const before = reads()
  const gotC = bytes(c.s, 2)
  c.peer.write('ok')
  t.is((await gotC).toString(), 'ok')
  t.true(reads() > before, 'the next socket took the slot')
  c.peer.destroy()
  c.s.destroy()
  await h.close()
})

serial(
  'pause() in the slot stops reading in the kernel at highWaterMark plus one read, as node:net; resume() goes on; 4 MiB arrive whole and in order',
  async (t) => {
    const h = await server()
    const a = await h.accept()
    const echo = await h.accept() // on the ring: its round trips show the loop going round
    echo.s.on('data', (d) => echo.s.write(d))

    const gotFirst = bytes(a.s, 1)
    a.peer.write('0')
    await gotFirst
    a.s.pause()
    let leaked = 0
    const onData = (d) => (leaked += d.length)
    a.s.on('data', onData)
    a.s.pause() // a 'data' listener resumes a stream that was not paused explicitly
    // As node:net: a paused socket reads on until its buffer holds highWaterMark, then stops
    // reading in the kernel; what the peer writes past that stays in the socket.
    const big = Buffer.alloc(4 * 1024 * 1024, 1)
    a.peer.write(big)
    await turns(echo.peer, 20)
    t.is(leaked, 0, 'no data while paused')
    t.true(a.s.readableLength <= 128 * 1024, `stopped reading: ${a.s.readableLength} bytes buffered`)
    a.s.off('data', onData)
    const rest = bytes(a.s, big.length)
    a.s.resume()
    t.true((await rest).equals(big))

    const size = 4 * 1024 * 1024
    const pattern = Buffer.alloc(size)
    for (let i = 0; i < size; i++) pattern[i] = (i * 7 + (i >> 13)) & 0xff
    const all = []
    let got = 0
    let pauses = 0
    const done = new Promise((resolve) => {
      a.s.on('data', (d) => {
        all.push(d)
        got += d.length
        if (got >= size) return resolve()
        // Pause now and then, resuming a turn later: the slot's receive ends and is armed again.
        if (all.length % 7 === 0) {
          pauses++
          a.s.pause()
          setImmediate(() => a.s.resume())
        }
      })
    })
    a.peer.write(pattern)
    await done
    t.true(Buffer.concat(all).equals(pattern), 'every byte, in order')
    t.true(pauses > 0)
    for (const c of [a, echo]) {
      c.peer.destroy()
      c.s.destroy()
    }
    await h.close()
  }
)

serial('the end, a peer’s reset, and bytes before them, as on the ring', async (t) => {
  const h = await server()
  const a = await h.accept()
  const got = bytes(a.s, 3)
  a.peer.end('end')
  t.is((await got).toString(), 'end')
  await once(a.s, 'end')
  a.s.destroy()

  const b = await h.accept()
  const gotB = bytes(b.s, 1)
  b.peer.write('r')
  await gotB
  const before = reads()
  t.true(before > 0)
  const err = once(b.s, 'error')
  b.peer.resetAndDestroy()
  const [e] = await err
  t.is(e.code, 'ECONNRESET')
  t.is(e.syscall, 'read')
  await h.close()
})

serial('a socket that was never read in the slot is closed without the slot (destroy before data)', async (t) => {
  const h = await server()
  const a = await h.accept()
  a.s.destroy()
  await once(a.peer, 'close')
  const b = await h.accept()
  const before = reads()
  const got = bytes(b.s, 1)
  b.peer.write('y')
  await got
  t.true(reads() > before, 'the slot was free for the next socket')
  b.peer.destroy()
  b.s.destroy()
  await h.close()
})

/** Runs `code` (ESM) in a child process; resolves with its exit code and output. */
function child(code, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, ...env }
    })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code, out }))
  })
}

const UNREF = `
  import * as bnet from './dist/net/index.js'
  import { stats } from './dist/index.js'
  import net from 'node:net'
  const srv = bnet.createServer((s) => s.once('data', () => {
    console.log('reads', stats().readinessReads)
    srv.unref()
    if (process.env.KEEP !== '1') s.unref()
    else setTimeout(() => { console.log('still alive'); process.exit(0) }, 300).unref()
  }))
  srv.listen(0, '127.0.0.1', () => {
    const c = net.connect(srv.address().port, '127.0.0.1', () => c.write('x'))
    c.unref()
  })
`

serial('an unref’d socket in the slot lets the process exit; a ref’d one keeps it alive', async (t) => {
  const gone = await child(UNREF)
  t.is(gone.code, 0, gone.out)
  t.regex(gone.out, /reads [1-9]/)
  t.notRegex(gone.out, /still alive/)
  const kept = await child(UNREF, { KEEP: '1' })
  t.is(kept.code, 0, kept.out)
  t.regex(kept.out, /reads [1-9]/)
  t.regex(kept.out, /still alive/, 'the ref’d socket in the slot kept the loop running')
})

serial('BOROS_NET_READINESS=0: every receive on the ring', async (t) => {
  const off = await child(UNREF, { BOROS_NET_READINESS: '0' })
  t.is(off.code, 0, off.out)
  t.regex(off.out, /reads 0\b/)
})

serial('each worker has a slot of its own; a worker terminated with its socket in the slot', async (t) => {
  const w = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const net = require('node:net')
    import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(async ({ stats }) => {
      const bnet = await import(${JSON.stringify(new URL('../dist/net/index.js', import.meta.url).href)})
      const srv = bnet.createServer((s) => s.on('data', (d) => {
        s.write(d)
        parentPort.postMessage({ reads: stats().readinessReads })
      }))
      srv.listen(0, '127.0.0.1', () => {
        const c = net.connect(srv.address().port, '127.0.0.1', () => c.write('w'))
      })
    })
    `,
    { eval: true }
  )
  const [msg] = await once(w, 'message')
  t.true(msg.reads > 0, 'the worker’s socket was read by its own slot')
  const main = await server()
  const a = await main.accept()
  const before = reads()
  const got = bytes(a.s, 1)
  a.peer.write('m')
  await got
  t.true(reads() > before, 'the main thread’s slot is its own')
  await w.terminate()
  a.peer.destroy()
  a.s.destroy()
  await main.close()
})
