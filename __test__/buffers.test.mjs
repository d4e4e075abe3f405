// Registered buffers (BufferPool) against the real ring (direct descriptors and the one-trip
// readFile: buffers-direct.test.mjs). Refusals are real too: a child process without
// CAP_IPC_LOCK under a tiny RLIMIT_MEMLOCK (prlimit).
// io_uring counts locked memory per *user*, not per process: the two RLIMIT_MEMLOCK tests are
// serial so that their children (same uid, no CAP_IPC_LOCK) do not count against each other.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { BufferPool, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { has, notOnRing, unless } from './helpers/skip.mjs'
import { onRing, root, dir, pattern, file, run } from './helpers/buffers-files.mjs'

// The RLIMIT_MEMLOCK checks need prlimit and, as root, setpriv to drop CAP_IPC_LOCK (root skips
// locked-memory accounting); without them they are reported skipped, with the reason.
const memlockWhy = !has('prlimit')
  ? 'prlimit (util-linux) is not installed'
  : process.getuid() === 0 && !has('setpriv')
    ? 'running as root without setpriv (util-linux): cannot drop CAP_IPC_LOCK'
    : undefined
const dropIpcLock = process.getuid() === 0 ? ['setpriv', '--bounding-set=-ipc_lock'] : []
const memlockSerial = unless(memlockWhy ?? notOnRing, { serial: true })

test('BufferPool: registered buffers, acquire/release, exhaustion, dispose', (t) => {
  const pool = new BufferPool({ count: 3, size: 8192 })
  t.is(pool.registered, onRing, pool.reason)
  if (onRing) t.is(pool.reason, undefined)
  else t.regex(pool.reason, /^io_uring is not in use \(.*\); the pool uses plain memory$/)
  t.is(pool.available, 3)
  const a = pool.acquire()
  const b = pool.acquire()
  const c = pool.acquire()
  t.true(Buffer.isBuffer(a))
  t.is(a.length, 8192)
  t.not(a.buffer, b.buffer)
  t.is(pool.acquire(), undefined)
  pool.release(b)
  t.is(pool.acquire(), b)
  t.throws(() => pool.release(Buffer.alloc(8)), { code: 'ERR_INVALID_ARG_VALUE' })
  pool.release(c)
  t.throws(() => pool.release(c), { code: 'ERR_INVALID_STATE' })
  pool.release(a.subarray(10, 20)) // a view into a pool buffer is accepted
  pool[Symbol.dispose]()
  t.true(pool.disposed)
  t.throws(() => pool.acquire(), { code: 'ERR_BOROS_CLOSED' })
  a.fill(1) // still valid memory after dispose
  t.is(a[100], 1)
})

test('BufferPool: bad options throw before anything is registered', (t) => {
  t.throws(() => new BufferPool(), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => new BufferPool({ count: 0, size: 10 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => new BufferPool({ count: 1, size: 2 ** 31 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => new BufferPool({ count: 1.5, size: 10 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => new BufferPool({ count: '1', size: 10 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
})

test('pool buffers: reads land in the pool buffer, writes come from it, same bytes as node:fs', async (t) => {
  const data = pattern(3 * 65536 + 123)
  const p = file('pool-rw.bin', data)
  const pool = new BufferPool({ count: 4, size: 65536 })
  const fh = await bfs.open(p, 'r+')
  const bufs = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]
  const results = await Promise.all(bufs.map((b, i) => fh.read(b, 0, b.length, i * 65536)))
  t.deepEqual(
    results.map((r) => r.bytesRead),
    [65536, 65536, 65536, 123]
  )
  results.forEach((r, i) => {
    t.is(r.buffer, bufs[i])
  })
  t.is(pool.fixedOps, onRing ? 4 : 0, 'the reads went out as READ_FIXED (on the ring)')
  for (let i = 0; i < 4; i++)
    t.true(bufs[i].subarray(0, results[i].bytesRead).equals(data.subarray(i * 65536, i * 65536 + results[i].bytesRead)))
  // A view at an offset into a pool buffer, with an offset argument on top.
  const view = bufs[0].subarray(100, 1100)
  const r = await fh.read(view, 10, 500, 7)
  t.is(r.bytesRead, 500)
  t.true(bufs[0].subarray(110, 610).equals(data.subarray(7, 507)))
  // Write from a pool buffer, at a position and at the current position.
  bufs[1].fill(0xab, 0, 4096)
  t.is((await fh.write(bufs[1], 0, 4096, 65536)).bytesWritten, 4096)
  t.is(pool.fixedOps, onRing ? 6 : 0, 'the write went out as WRITE_FIXED (on the ring)')
  await fh.sync()
  await fh.close()
  const back = await fsp.readFile(p)
  t.true(back.subarray(65536, 65536 + 4096).equals(Buffer.alloc(4096, 0xab)))
  t.true(back.subarray(0, 65536).equals(data.subarray(0, 65536)))
  // Argument errors are thrown before anything is queued, as for plain buffers.
  const fh2 = await bfs.open(p)
  await t.throwsAsync(fh2.read(bufs[2], 0, 65537, 0), { code: 'ERR_OUT_OF_RANGE' })
  const eof = await fh2.read(bufs[2], 0, 100, 10 * 65536)
  t.is(eof.bytesRead, 0)
  await fh2.close()
  const ebadf = await t.throwsAsync(fh2.read(bufs[2], 0, 10, 0), { code: 'EBADF' })
  t.is(ebadf.syscall, 'read')
})

test('pool buffers: readFile/writeFile of a handle work with pool memory underneath; transfer never detaches them', async (t) => {
  const pool = new BufferPool({ count: 2, size: 4096 })
  const b = pool.acquire()
  b.fill(7)
  let threw = false
  try {
    structuredClone(b, { transfer: [b.buffer] })
  } catch {
    threw = true // Node >= 22: DataCloneError for an external ArrayBuffer
  }
  // On the ring pool Buffers are external memory, which Node never detaches; the fallback's
  // plain Buffers are detached by a transfer, as any other Buffer is.
  t.is(b.length, onRing ? 4096 : 0, `attached: ${onRing} (transfer ${threw ? 'threw' : 'copied'})`)
  const into = onRing ? b : pool.acquire()
  const p = file('pool-transfer.bin', pattern(4096, 3))
  const fh = await bfs.open(p)
  t.is((await fh.read(into, 0, 4096, 0)).bytesRead, 4096)
  t.true(into.equals(pattern(4096, 3)))
  await fh.close()
})

test.serial(
  'pool reads and writes go through the shared queue: 256 in one tick, a few submits, each in its own buffer; a pool disposed in the same tick still serves them',
  async (t) => {
    const content = pattern(256 * 8192, 11)
    const p = file('pool-queue.bin', content)
    const pool = new BufferPool({ count: 256, size: 8192 })
    const fh = await bfs.open(p, 'r+')
    const bufs = Array.from({ length: 256 }, () => pool.acquire())
    const before = stats()
    const reads = bufs.map((b, i) => fh.read(b, 0, 8192, i * 8192))
    pool[Symbol.dispose]() // queued, not yet submitted: they own their memory once drained
    const results = await Promise.all(reads)
    const after = stats()
    t.true(after.batches - before.batches <= 4, `${after.batches - before.batches} submits`)
    t.true(results.every((r, i) => r.bytesRead === 8192 && r.buffer.equals(content.subarray(i * 8192, (i + 1) * 8192))))
    // Writes from pool buffers (a new pool: the first is disposed).
    const pool2 = new BufferPool({ count: 4, size: 4096 })
    const w = pool2.acquire().fill(0x5a)
    const { bytesWritten } = await fh.write(w, 0, 4096, 4096)
    t.is(bytesWritten, 4096)
    t.true(pool2.fixedOps >= 1 || !pool2.registered)
    await fh.close()
    t.true(fs.readFileSync(p).subarray(4096, 8192).equals(Buffer.alloc(4096, 0x5a)))
    pool2[Symbol.dispose]()
  }
)

test('a process that made a pool and still holds its Buffers at exit exits 0 (Node 24 teardown detaches external buffers)', (t) => {
  const script = `
    import { BufferPool } from './dist/index.js'
    import { readFile } from './dist/fs/index.js'
    globalThis.keep = new BufferPool({ count: 2, size: 4096 })
    globalThis.keep.acquire().fill(1)
    await readFile(${JSON.stringify(fileURLToPath(import.meta.url))})
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
  t.is(r.status, 0, r.stderr)
  t.is(r.signal, null)
})

memlockSerial(
  'registration refused for real (RLIMIT_MEMLOCK without CAP_IPC_LOCK): plain memory, registered false, reason',
  async (t) => {
    const p = file('memlock.bin', pattern(100000, 5))
    const script = `
    const { BufferPool } = require('./dist/index.js')
    const bfs = require('./dist/fs/index.js')
    ;(async () => {
      const pool = new BufferPool({ count: 64, size: 65536 })
      const small = new BufferPool({ count: 1, size: 4096 })
      const fh = await bfs.open(${JSON.stringify(p)})
      const b = pool.acquire()
      const { bytesRead } = await fh.read(b, 0, b.length, 1000)
      await fh.close()
      console.log(JSON.stringify({ registered: pool.registered, reason: pool.reason, bytesRead,
        head: b.subarray(0, 16).toString('hex'), small: small.registered, fixedOps: pool.fixedOps }))
    })()
  `
    const r = await run([...dropIpcLock, 'prlimit', '--memlock=1048576:1048576', process.execPath, '-e', script])
    t.is(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    t.false(out.registered)
    t.regex(out.reason, /ENOMEM/)
    t.regex(out.reason, /RLIMIT_MEMLOCK \(1048576 bytes\)/)
    t.is(out.bytesRead, 65536)
    t.is(out.head, pattern(100000, 5).subarray(1000, 1016).toString('hex'))
    t.true(out.small, 'a pool within the limit still registers')
    t.is(out.fixedOps, 0, 'plain READ into the pool memory')
  }
)

memlockSerial(
  'dispose gives the locked memory back: a second pool fits where two would not (RLIMIT_MEMLOCK)',
  async (t) => {
    const p = file('memlock2.bin', pattern(65536, 6))
    const script = `
    const { BufferPool } = require('./dist/index.js')
    const bfs = require('./dist/fs/index.js')
    ;(async () => {
      const fh = await bfs.open(${JSON.stringify(p)})
      const out = []
      const a = new BufferPool({ count: 8, size: 65536 })
      out.push(a.registered, new BufferPool({ count: 8, size: 65536 }).registered)
      a[Symbol.dispose]() // nothing in flight: slots emptied now
      const b = new BufferPool({ count: 8, size: 65536 })
      out.push(b.registered)
      // Disposed with reads in flight: emptied after the last one completes (next pool call).
      const reads = [0, 1, 2, 3].map(() => fh.read(b.acquire(), 0, 65536, 0))
      b[Symbol.dispose]()
      await Promise.all(reads)
      const c = new BufferPool({ count: 8, size: 65536 })
      out.push(c.registered)
      await fh.close()
      console.log(JSON.stringify(out))
    })()
  `
    const r = await run([...dropIpcLock, 'prlimit', '--memlock=1048576:1048576', process.execPath, '-e', script])
    t.is(r.code, 0, r.stderr)
    t.deepEqual(JSON.parse(r.stdout), [true, false, true, true])
  }
)

test('on the fallback backend a pool hands out plain Buffers and says why; reads and direct opens still work', async (t) => {
  const p = file('fallback.bin', pattern(8192, 12))
  const script = `
    const { BufferPool } = require('./dist/index.js')
    const bfs = require('./dist/fs/index.js')
    ;(async () => {
      const pool = new BufferPool({ count: 2, size: 4096 })
      const fh = await bfs.open(${JSON.stringify(p)}, { direct: true })
      const b = pool.acquire()
      const { bytesRead } = await fh.read(b, 0, 4096, 4096)
      await fh.close()
      console.log(JSON.stringify({ registered: pool.registered, reason: pool.reason, bytesRead, head: b.subarray(0, 8).toString('hex') }))
    })()
  `
  const r = await run([process.execPath, '--no-warnings', '-e', script], { BOROS_BACKEND: 'fallback' })
  t.is(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.false(out.registered)
  t.regex(out.reason, /io_uring is not in use \(forced by BOROS_BACKEND=fallback\)/)
  t.is(out.bytesRead, 4096)
  t.is(out.head, pattern(8192, 12).subarray(4096, 4104).toString('hex'))
})

test('pool memory outlives a disposed pool, its dropped Buffers and GC while reads are in flight', async (t) => {
  const p = file('gc.bin', pattern(1 << 20, 9))
  const script = `
    const { BufferPool } = require('./dist/index.js')
    const bfs = require('./dist/fs/index.js')
    const want = require('node:fs').readFileSync(${JSON.stringify(p)})
    ;(async () => {
      const fh = await bfs.open(${JSON.stringify(p)})
      let ok = 0
      for (let round = 0; round < 50; round++) {
        let pool = new BufferPool({ count: 16, size: 65536 })
        const reads = []
        for (let i = 0; i < 16; i++) {
          const b = pool.acquire()
          reads.push(fh.read(b, 0, 65536, i * 65536).then((r) => r.buffer.equals(want.subarray(i * 65536, (i + 1) * 65536))))
        }
        pool[Symbol.dispose]()
        pool = null
        globalThis.gc()
        for (const r of await Promise.all(reads)) ok += r ? 1 : 0
        globalThis.gc()
      }
      await fh.close()
      console.log(ok)
    })()
  `
  const r = await run([process.execPath, '--expose-gc', '-e', script])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), String(50 * 16))
})

// Off the ring the worker's reads of the FIFO block libuv's threadpool, which the whole process
// shares and terminate() does not unblock: every later fs call of this process would hang.
unless(notOnRing && `${notOnRing}: reads of a FIFO block libuv's threadpool, which terminate() does not give back`)(
  'worker terminated with pool reads in flight on a pipe exits cleanly',
  async (t) => {
    const fifo = path.join(dir, 'fifo')
    spawnSync('mkfifo', [fifo])
    const w = new Worker(
      `
    const { parentPort } = require('node:worker_threads')
    const { BufferPool } = require(${JSON.stringify(`${root}dist/index.js`)})
    const bfs = require(${JSON.stringify(`${root}dist/fs/index.js`)})
    ;(async () => {
      const pool = new BufferPool({ count: 8, size: 4096 })
      const fh = await bfs.open(${JSON.stringify(fifo)}, 'r+')
      for (let i = 0; i < 8; i++) fh.read(pool.acquire(), 0, 4096, -1).catch(() => {})
      parentPort.postMessage('reading')
    })()
  `,
      { eval: true }
    )
    await new Promise((resolve) => w.once('message', resolve))
    const code = await w.terminate()
    t.is(code, 1)
  }
)

// Off the ring the reads are node:fs reads, which hold libuv's threadpool; process.exit() waits
// for them and hangs, as it does with node:fs/promises alone.
unless(notOnRing && `${notOnRing}: process.exit() waits for node:fs reads of a FIFO (node:fs hangs the same way)`)(
  'process.exit() with pool reads in flight on a FIFO exits cleanly',
  async (t) => {
    const fifo = path.join(dir, 'fifo-exit')
    spawnSync('mkfifo', [fifo])
    const script = `
    const { BufferPool } = require('./dist/index.js')
    const bfs = require('./dist/fs/index.js')
    ;(async () => {
      const pool = new BufferPool({ count: 8, size: 4096 })
      const fh = await bfs.open(${JSON.stringify(fifo)}, 'r+')
      for (let i = 0; i < 8; i++) fh.read(pool.acquire(), 0, 4096, -1)
      setTimeout(() => process.exit(7), 50)
    })()
  `
    const r = await run([process.execPath, '-e', script])
    t.is(r.code, 7, r.stderr)
    t.notRegex(r.stderr, /Segmentation|FATAL|Aborted|panicked/i)
  }
)
