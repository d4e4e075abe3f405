// Direct descriptors (open(path, { direct: true }), the ring's file table) and the one-trip readFile
// of pipes and FIFOs, against the real ring (see buffers.test.mjs for the registered buffers).
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { BufferPool, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { has, notOnRing, unless } from './helpers/skip.mjs'
import { onRing, root, dir, pattern, file, run, withPrlimit } from './helpers/buffers-files.mjs'

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
