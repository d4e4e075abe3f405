#!/usr/bin/env node
// Fault script (issue 24): workers that use boros (files, reads in flight, a read blocked on a
// FIFO, BufferPool, chunk streams, boros/net listeners and connections) are terminated one
// after the other; the process's descriptors (/proc/self/fd) must be as many afterwards as
// before: each worker's ring, eventfd, buffer rings, pools, FileHandles and sockets are closed
// at its env's teardown, as Node closes a worker's own descriptors.
//
//   node [--no-concurrent-recompilation] scripts/faults/worker-terminate-fds.mjs [--workers N]
// Prints one JSON line ({ workers, before, after, perKind, leaked: [link targets] }); exits 1
// when descriptors were left behind. (--no-concurrent-recompilation: Node 20's V8 teardown race
// on terminate, nodejs/node#31752, is then out of the picture; see __test__/workers.test.mjs.)
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'

const { values: o } = parseArgs({ options: { workers: { type: 'string', default: '30' } } })
const N = Number(o.workers)
const dist = fileURLToPathSafe(new URL('../../dist/', import.meta.url))
function fileURLToPathSafe(u) {
  return decodeURIComponent(u.pathname)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-wfd-'))
const data = path.join(dir, 'data')
const fifo = path.join(dir, 'fifo')
fs.writeFileSync(data, Buffer.alloc(1 << 20, 7))
execFileSync('mkfifo', [fifo])

const KINDS = ['files', 'midio', 'pool', 'chunks', 'net']
const code = `
const { parentPort, workerData: { kind, dist, data, fifo } } = require('node:worker_threads')
const fs = require('node:fs')
const boros = require(dist + 'index.js')
const bfs = require(dist + 'fs/index.js')
;(async () => {
  await bfs.readFile(data)
  const fh = await bfs.open(data)
  // Every handle stays referenced until terminate (its teardown must close them): one the
  // garbage collector found first would be closed there, and on Node 26 that is an uncaught
  // ERR_INVALID_STATE in the worker (node-facts.ts GC_CLOSE_THROWS), thrown again by this
  // thread (no error listener after ready): it failed the run at random.
  globalThis.kept = [fh]
  await fh.read(Buffer.alloc(16), 0, 16, 0)
  if (kind === 'midio') {
    // Reads in flight on an open handle, and one blocked on a FIFO forever.
    const loop = async () => { for (;;) await Promise.all(Array.from({ length: 64 }, (_, i) => fh.read(Buffer.alloc(4096), 0, 4096, i * 4096))) }
    loop()
    const { O_RDWR, O_NONBLOCK } = fs.constants
    const ffd = await bfs.open(fifo, O_RDWR | O_NONBLOCK)
    globalThis.kept.push(ffd)
    ffd.read(Buffer.alloc(64), 0, 64, null).catch(() => {})
  } else if (kind === 'pool') {
    const pool = new boros.BufferPool({ count: 8, size: 4096 })
    const b = pool.acquire()
    await fh.read(b, 0, 4096, 0)
  } else if (kind === 'chunks') {
    const { O_RDWR, O_NONBLOCK } = fs.constants
    const pipe = await bfs.open(fifo, O_RDWR | O_NONBLOCK)
    globalThis.kept.push(pipe)
    const it = bfs.readChunks(pipe.fd)[Symbol.asyncIterator]()
    it.next().catch(() => {})
  } else if (kind === 'net') {
    const net = require(dist + 'net/index.js')
    const server = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const c = net.connect(server.address().port, '127.0.0.1')
    await new Promise((r) => c.once('connect', r))
    c.write('ping')
    await new Promise((r) => c.once('data', r))
    const l = await net.listen({ port: 0, host: '127.0.0.1' })
    const conn = await net.dial({ host: '127.0.0.1', port: l.address().port })
    await conn.write(Buffer.from('x'))
  }
  parentPort.postMessage('ready')
})().catch((e) => parentPort.postMessage(String(e.stack)))
setInterval(() => {}, 1000)
`

const fds = () => fs.readdirSync('/proc/self/fd')
const targets = () =>
  fds().map((f) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${f}`)
    } catch {
      return '?'
    }
  })

async function one(kind) {
  const w = new Worker(code, { eval: true, workerData: { kind, dist, data, fifo } })
  const msg = await new Promise((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  })
  if (msg !== 'ready') throw new Error(`worker (${kind}) failed: ${msg}`)
  await w.terminate()
}

// One worker of each kind first: what Node and boros set up once per process (not per worker).
for (const kind of KINDS) await one(kind)
await new Promise((r) => setTimeout(r, 100))
const before = fds().length
const beforeTargets = targets()
const perKind = {}
for (let i = 0; i < N; i++) {
  const kind = KINDS[i % KINDS.length]
  await one(kind)
  perKind[kind] = (perKind[kind] ?? 0) + 1
}
await new Promise((r) => setTimeout(r, 200))
const after = fds().length
const left = {}
for (const t of targets()) left[t] = (left[t] ?? 0) + 1
for (const t of beforeTargets) left[t] = (left[t] ?? 0) - 1
const leaked = Object.entries(left)
  .filter(([, n]) => n > 0)
  .map(([t, n]) => `${t} x${n}`)
fs.rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ workers: N, before, after, perKind, leaked }))
process.exitCode = after > before ? 1 : 0
