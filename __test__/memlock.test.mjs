// A user without CAP_IPC_LOCK under a small RLIMIT_MEMLOCK (64 KiB, still the default in many
// containers): the kernel refuses full-size rings with ENOMEM. boros retries with smaller rings,
// so such processes still get io_uring, and says what it cost (runtime().shrunk, doctor).
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { notOnRing, unless } from './helpers/skip.mjs'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const canDrop = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0

/** A check run as user `nobody`; without root and setpriv it is reported skipped, with the reason. */
const unprivileged = unless(
  canDrop ? undefined : 'needs root and setpriv (util-linux) to run a child as an unprivileged user'
)
/** The same, for a check of the ring's setup: the child inherits this process's backend. */
const unprivilegedRing = notOnRing ? unless(notOnRing) : unprivileged

/**
 * A copy of the built package that user `nobody` can read (the checkout may be private), with a
 * `work` folder anyone can write. The caller removes `dir`.
 */
function packageCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-memlock-'))
  fs.chmodSync(dir, 0o755)
  for (const f of fs.readdirSync(root)) {
    if (f === 'index.js' || f === 'package.json' || f.endsWith('.node'))
      fs.copyFileSync(path.join(root, f), path.join(dir, f))
  }
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true })
  execFileSync('chmod', ['-R', 'a+rX', dir])
  const work = path.join(dir, 'work')
  fs.mkdirSync(work)
  fs.chmodSync(work, 0o777)
  return { dir, work }
}

/** Runs Node on `script` as user `nobody` under `ulimit -l 64`. */
function asNobody(script, timeout) {
  const args = ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', '-c', 'ulimit -l 64 && exec "$0" -e "$1"']
  return spawnSync('setpriv', [...args, process.execPath, script], { encoding: 'utf8', timeout })
}

unprivilegedRing('with ulimit -l 64 as an unprivileged user, boros sets up smaller rings and works', (t) => {
  const { dir, work } = packageCopy()
  try {
    const script = `
      const { runtime } = require(${JSON.stringify(path.join(dir, 'dist/index.js'))})
      const bfs = require(${JSON.stringify(path.join(dir, 'dist/fs/index.js'))})
      ;(async () => {
        const p = ${JSON.stringify(path.join(work, 'f'))}
        await bfs.writeFile(p, 'hello under a small memlock')
        const text = await bfs.readFile(p, 'utf8')
        const st = await bfs.stat(p)
        const r = runtime()
        console.log(JSON.stringify({ backend: r.backend, sq: r.sqEntries, shrunk: r.shrunk, text, size: st.size }))
      })()
    `
    const run = asNobody(script, 30_000)
    t.is(run.status, 0, `${run.stdout}\n${run.stderr}`)
    const out = run.stdout
    const r = JSON.parse(out)
    t.is(r.backend, 'io_uring')
    t.true(r.sq < 1024, `sq ${r.sq} (a JS thread asks for 1,024)`)
    t.regex(r.shrunk ?? '', /RLIMIT_MEMLOCK 64 KiB/)
    t.is(r.text, 'hello under a small memlock')
    t.is(r.size, 27)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

unprivilegedRing(
  'with ulimit -l 64 as an unprivileged user, boros/net receives (smaller buffer group or plain recv), never dies',
  (t) => {
    const { dir } = packageCopy()
    try {
      // Server and client on boros/net in one process: 4 connections each echo 1 MiB.
      const script = `
      const net = require(${JSON.stringify(path.join(dir, 'dist/net/index.js'))})
      const server = net.createServer((s) => s.pipe(s))
      server.listen(0, '127.0.0.1', async () => {
        const port = server.address().port
        const sizes = await Promise.all([0, 1, 2, 3].map(() => new Promise((resolve, reject) => {
          const c = net.connect(port, '127.0.0.1')
          let n = 0
          c.on('data', (d) => (n += d.length))
          c.on('end', () => resolve(n))
          c.on('error', reject)
          c.end(Buffer.alloc(1 << 20, 7))
        })))
        server.close()
        console.log(JSON.stringify({ backend: net.backend, sizes }))
      })
    `
      const run = asNobody(script, 30000)
      t.is(run.status, 0, `${run.stdout}\n${run.stderr}`)
      const out = run.stdout
      const r = JSON.parse(out)
      t.is(r.backend, 'io_uring')
      t.deepEqual(r.sizes, [1 << 20, 1 << 20, 1 << 20, 1 << 20])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
)

// Files under the same limit, every path that needs locked memory (issue 24): the one-trip
// readFile's registered scratch buffers, a BufferPool (registration refused: plain memory and a
// reason), readChunks' provided-buffer ring on a pipe, large readFile/writeFile, streams, and
// 200 readFiles at once; every byte must come back right, and nothing may throw uncaught.
unprivileged(
  'with ulimit -l 64 as an unprivileged user, every file path works (pool, chunks, streams, big files)',
  (t) => {
    const { dir, work } = packageCopy()
    try {
      const script = `
      const boros = require(${JSON.stringify(path.join(dir, 'dist/index.js'))})
      const bfs = require(${JSON.stringify(path.join(dir, 'dist/fs/index.js'))})
      const fs = require('node:fs')
      const { execFileSync } = require('node:child_process')
      const { pipeline } = require('node:stream/promises')
      const work = ${JSON.stringify(work)}
      const out = {}
      process.on('uncaughtException', (e) => { console.log(JSON.stringify({ uncaught: String(e.stack) })); process.exit(3) })
      ;(async () => {
        const big = Buffer.alloc(6 << 20)
        for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff
        await bfs.writeFile(work + '/big', big)
        out.big = (await bfs.readFile(work + '/big')).equals(big)
        const smalls = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
          await bfs.writeFile(work + '/s' + i, 'small ' + i)
          return (await bfs.readFile(work + '/s' + i, 'utf8')) === 'small ' + i
        }))
        out.smalls = smalls.every(Boolean)
        const pool = new boros.BufferPool({ count: 64, size: 64 * 1024 })
        out.poolRegistered = pool.registered
        out.poolReason = pool.reason ?? null
        const fh = await bfs.open(work + '/big')
        const b = pool.acquire()
        const r = await fh.read(b, 0, b.length, 4096 * 3)
        out.poolRead = r.bytesRead === b.length && b[0] === 3
        await fh.close()
        const copy = work + '/copy'
        await pipeline(bfs.createReadStream(work + '/big'), bfs.createWriteStream(copy))
        out.streams = fs.readFileSync(copy).equals(big)
        execFileSync('mkfifo', [work + '/fifo'])
        const pfd = fs.openSync(work + '/fifo', fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
        const wfd = fs.openSync(work + '/fifo', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
        fs.writeSync(wfd, 'through the pipe')
        fs.closeSync(wfd)
        const chunks = []
        for await (const c of bfs.readChunks(pfd)) { chunks.push(Buffer.from(c)); if (Buffer.concat(chunks).length >= 16) break }
        out.chunks = Buffer.concat(chunks).toString()
        out.shrunk = boros.runtime().shrunk ?? null
        console.log(JSON.stringify(out))
      })().catch((e) => { console.log(JSON.stringify({ failed: String(e.stack) })); process.exit(2) })
    `
      const r = asNobody(script, 60_000)
      t.is(r.status, 0, `${r.stdout}\n${r.stderr}`)
      const o = JSON.parse(r.stdout.trim().split('\n').pop())
      t.log(JSON.stringify(o))
      t.true(o.big, 'a 6 MiB file read back')
      t.true(o.smalls, '200 small files at once')
      t.true(o.poolRead, 'a read into a BufferPool buffer')
      if (!o.poolRegistered) t.truthy(o.poolReason, 'an unregistered pool says why')
      t.true(o.streams, 'createReadStream -> createWriteStream copy')
      t.is(o.chunks, 'through the pipe')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
)
