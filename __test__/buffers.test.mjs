// Registered buffers (BufferPool), direct descriptors and the one-trip readFile, against the
// real ring. Refusals are real too: a child process without CAP_IPC_LOCK under a tiny
// RLIMIT_MEMLOCK (prlimit), and a file table clamped by RLIMIT_NOFILE.
// io_uring counts locked memory per *user*, not per process: the two RLIMIT_MEMLOCK tests are
// serial so that their children (same uid, no CAP_IPC_LOCK) do not count against each other.
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { BufferPool, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { has, notOnRing, unless } from './helpers/skip.mjs'

// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) a pool is plain memory and reads go
// through node:fs: the data checks run on both backends, the ring's counts and registrations on
// the ring only. Child processes inherit this process's backend.
const onRing = notOnRing === undefined

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-buffers-'))
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

function pattern(n, seed = 1) {
  const b = Buffer.allocUnsafe(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

function file(name, data) {
  const p = path.join(dir, name)
  fs.writeFileSync(p, data)
  return p
}

function run(argv, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

// The RLIMIT_MEMLOCK checks need prlimit and, as root, setpriv to drop CAP_IPC_LOCK (root skips
// locked-memory accounting); without them they are reported skipped, with the reason.
const memlockWhy = !has('prlimit')
  ? 'prlimit (util-linux) is not installed'
  : process.getuid() === 0 && !has('setpriv')
    ? 'running as root without setpriv (util-linux): cannot drop CAP_IPC_LOCK'
    : undefined
const dropIpcLock = process.getuid() === 0 ? ['setpriv', '--bounding-set=-ipc_lock'] : []
const memlockSerial = unless(memlockWhy ?? notOnRing, { serial: true })
const withPrlimit = unless(has('prlimit') ? undefined : 'prlimit (util-linux) is not installed')

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

test('open(path, { direct: true }): a direct descriptor for every op; fd is -1', async (t) => {
  const data = pattern(10000, 11)
  const p = file('direct.bin', data)
  const fh = await bfs.open(p, { flags: 'r+', direct: true })
  if (onRing) {
    t.true(fh.direct)
    t.is(fh.fd, -1)
  } else {
    t.true(fh.fd >= 0, 'the fallback opens a plain descriptor (node:fs FileHandle)')
  }
  const buf = Buffer.alloc(100)
  const r = await fh.read(buf, 0, 100, 50)
  t.is(r.bytesRead, 100)
  t.true(buf.equals(data.subarray(50, 150)))
  t.is((await fh.write(Buffer.from('direct!'), 0, 7, 0)).bytesWritten, 7)
  await fh.datasync()
  const st = await fh.stat()
  t.is(st.size, 10000)
  t.true(st.isFile())
  t.is((await fh.readFile()).length, 10000 - 0) // from the current position (0)
  await fh.close()
  t.is((await fsp.readFile(p)).subarray(0, 7).toString(), 'direct!')
  await t.throwsAsync(fh.read(buf, 0, 10, 0), { code: 'EBADF' })
  // Pool buffers on a direct handle: READ_FIXED with IOSQE_FIXED_FILE.
  const pool = new BufferPool({ count: 1, size: 4096 })
  const fh2 = await bfs.open(p, { direct: true })
  const b = pool.acquire()
  t.is((await fh2.read(b, 0, 4096, 4096)).bytesRead, 4096)
  t.true(b.equals(data.subarray(4096, 8192)))
  await fh2.close()
  await t.throwsAsync(bfs.open(p, { direct: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  // Errors are node's.
  const e1 = await bfs.open(path.join(dir, 'missing'), { direct: true }).catch((e) => e)
  const e2 = await fsp.open(path.join(dir, 'missing')).catch((e) => e)
  t.deepEqual(
    [e1.code, e1.errno, e1.syscall, e1.path, e1.message],
    [e2.code, e2.errno, e2.syscall, e2.path, e2.message]
  )
})

// The fallback has no file table: its 72 opens fail with EMFILE under the limit, as node:fs's do.
unless(notOnRing ?? (has('prlimit') ? undefined : 'prlimit (util-linux) is not installed'))(
  'a full file table falls back to plain descriptors, never fails an open',
  async (t) => {
    const p = file('full.txt', 'x')
    const script = `
    const bfs = require('./dist/fs/index.js')
    ;(async () => {
      const handles = []
      for (let i = 0; i < 72; i++) handles.push(await bfs.open(${JSON.stringify(p)}, { direct: true }))
      const direct = handles.filter((h) => h.direct).length
      const plain = handles.filter((h) => !h.direct && h.fd >= 0).length
      const texts = []
      for (const h of handles) texts.push(await h.readFile('utf8'))
      for (const h of handles) await h.close()
      // Slots come back after close.
      const again = await bfs.open(${JSON.stringify(p)}, { direct: true })
      console.log(JSON.stringify({ direct, plain, allX: texts.every((s) => s === 'x'), again: again.direct }))
      await again.close()
    })()
  `
    const r = await run(['prlimit', '--nofile=64:64', process.execPath, '-e', script])
    t.is(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    t.is(out.direct, 64, 'the table is clamped to RLIMIT_NOFILE')
    t.is(out.plain, 8)
    t.true(out.allX)
    t.true(out.again)
  }
)

withPrlimit(
  'the one-trip readFile gives its file slots back: 64 slots serve 2,000 reads, errors included',
  async (t) => {
    const small = file('slots-small.txt', 'abc')
    const big = file('slots-big.bin', pattern(100000, 9))
    const script = `
    const bfs = require('./dist/fs/index.js')
    const { stats } = require('./dist/index.js')
    let i = 0
    // A hang must fail with what was in flight, not as a silent ava timeout.
    setTimeout(() => {
      console.error('stuck at round ' + i + ': ' + JSON.stringify(stats()))
      process.exit(3)
    }, 60000).unref()
    ;(async () => {
      let ok = 0
      for (; i < 500; i++) {
        const batch = [bfs.readFile(${JSON.stringify(small)}), bfs.readFile(${JSON.stringify(big)}),
          bfs.readFile('/nonexistent/x').catch((e) => e.code), bfs.readFile(${JSON.stringify(dir)}).catch((e) => e.code)]
        const [a, b, c, d] = await Promise.all(batch)
        if (a.toString() === 'abc' && b.length === 100000 && c === 'ENOENT' && d === 'EISDIR') ok++
      }
      await new Promise((r) => setImmediate(r))
      // Still the one-trip path (open + 2 reads, then the close): a slot was free.
      const before = stats()
      await bfs.readFile(${JSON.stringify(small)})
      const after = stats()
      console.log(JSON.stringify({ ok, ops: after.opsSubmitted - before.opsSubmitted, batches: after.batches - before.batches }))
    })()
  `
    const r = await run(['prlimit', '--nofile=64:64', process.execPath, '-e', script])
    t.is(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    t.is(out.ok, 500)
    t.is(out.batches, onRing ? 2 : 0)
    t.is(out.ops, onRing ? 4 : 0)
  }
)

test('readFile of a pipe (/dev/stdin) and a FIFO loses nothing when data comes in pieces', async (t) => {
  const script = `
    const { readFile } = await import('./dist/fs/index.js')
    process.stdout.write(JSON.stringify(String(await readFile(process.argv[1]))))
  `
  const run = (target, feed) =>
    new Promise((resolve, reject) => {
      // Through `cat`: the child's stdin is then a pipe (spawn's own stdin is a socket pair).
      const child = spawn(
        'sh',
        ['-c', 'cat | "$0" --input-type=module -e "$1" "$2"', process.execPath, script, target],
        {
          cwd: root
        }
      )
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
      })
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, out }))
      feed(child)
    })
  const pieces = async (write, end) => {
    write('hello\n')
    await new Promise((r) => setTimeout(r, 150))
    write('x'.repeat(40000))
    await new Promise((r) => setTimeout(r, 150))
    write('\nworld\n')
    end()
  }
  const expected = JSON.stringify(`hello\n${'x'.repeat(40000)}\nworld\n`)
  const viaStdin = await run('/dev/stdin', (child) =>
    pieces(
      (s) => child.stdin.write(s),
      () => child.stdin.end()
    )
  )
  t.is(viaStdin.code, 0)
  t.is(viaStdin.out, expected)
  const fifo = path.join(dir, 'pieces.fifo')
  t.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo (coreutils)')
  const viaFifo = run(fifo, (child) => child.stdin.end())
  const w = await fsp.open(fifo, 'w')
  await pieces(
    (s) => w.write(s),
    () => w.close()
  )
  const r = await viaFifo
  t.is(r.code, 0)
  t.is(r.out, expected)
})

test.serial(
  'readFile of a small file takes one trip through the loop (open and reads in one submit, the close before it settles), same bytes and errors as node:fs',
  async (t) => {
    const sizes = [0, 1, 4096, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 100000]
    for (const n of sizes) {
      const p = file(`rf-${n}.bin`, pattern(n, n + 1))
      const got = await bfs.readFile(p)
      t.true(got.equals(await fsp.readFile(p)), `size ${n}`)
    }
    const small = file('rf-small.txt', 'hello')
    await bfs.readFile(small) // warm up (file table registration)
    const before = stats()
    t.is(await bfs.readFile(small, 'utf8'), 'hello')
    const after = stats()
    // One trip: open, read and the end-of-file read in one submit; the runtime closes the
    // descriptor as it reaps them (a second submit, in the same poll callback), before the
    // promise settles: nothing is left in flight.
    t.is(after.batches - before.batches, onRing ? 2 : 0)
    t.is(after.opsSubmitted - before.opsSubmitted, onRing ? 4 : 0)
    t.is(after.inFlight, 0)
    // procfs reports size 0: read until EOF all the same.
    t.regex(await bfs.readFile('/proc/self/status', 'utf8'), /^Name:/)
    for (const bad of [path.join(dir, 'nope'), dir, path.join(small, 'x')]) {
      const a = await bfs.readFile(bad).catch((e) => e)
      const b = await fsp.readFile(bad).catch((e) => e)
      t.deepEqual([a.code, a.errno, a.syscall, a.path, a.message], [b.code, b.errno, b.syscall, b.path, b.message], bad)
    }
    // Many at once: more than the scratch buffers take the plain path, results are the same.
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => bfs.readFile(i % 2 ? small : path.join(dir, 'rf-4096.bin')))
    )
    t.true(many.every((b, i) => (i % 2 ? b.toString() === 'hello' : b.equals(pattern(4096, 4097)))))
  }
)
