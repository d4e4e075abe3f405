// readChunks: multishot read into a provided buffer ring, and the single-read path, on FIFOs
// fed by child processes and by this process, against the real kernel.
import ava from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { readChunks, runtime, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants
const onRing = runtime().backend === 'io_uring'
// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) readChunks reads with node:fs.
const multishotWhy = !onRing
  ? notOnRing
  : runtime().ops.includes('read_multishot')
    ? undefined
    : 'this kernel has no read_multishot'
// Serial: the tests count ops and in-flight ops of the one ring of this thread.
const test = ava.serial
let dir
let n = 0

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-chunks-'))
})
test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

/** A FIFO with its read end open (non-blocking) and its write end open. */
function fifo() {
  const p = path.join(dir, `fifo-${n++}`)
  execFileSync('mkfifo', [p])
  const r = fs.openSync(p, O_RDONLY | O_NONBLOCK)
  const w = fs.openSync(p, O_WRONLY)
  return { p, r, w }
}

/** Waits until nothing is in flight (no bound: an op that never ends times the test out). */
async function settleInFlight() {
  while (stats().inFlight > 0) await sleep(5)
  return stats().inFlight
}

for (const multishot of [true, false]) {
  const name = multishot ? 'multishot' : 'single reads'
  const t = multishot ? unless(multishotWhy, { serial: true }) : test

  t(`${name}: a child's stdout through a FIFO, whole and in order`, async (t) => {
    const { r, w } = fifo()
    const child = spawn('seq', ['1', '60000'], { stdio: ['ignore', w, 'inherit'] })
    fs.closeSync(w) // EOF once the child exits
    const before = stats().opsSubmitted
    const parts = []
    let chunks = 0
    for await (const chunk of readChunks(r, { multishot, bufferSize: 4096, bufferCount: 4 })) {
      t.true(Buffer.isBuffer(chunk))
      t.true(chunk.length > 0 && chunk.length <= 4096)
      parts.push(chunk)
      chunks++
    }
    const [code] = child.exitCode === null ? await once(child, 'exit') : [child.exitCode]
    t.is(code, 0)
    const expected = execFileSync('seq', ['1', '60000'])
    t.true(Buffer.concat(parts).equals(expected))
    const ops = stats().opsSubmitted - before
    if (!onRing) t.is(ops, 0, 'the fallback submits nothing to a ring')
    else if (multishot) t.true(ops < chunks, `multishot: ${ops} ops for ${chunks} chunks`)
    else t.true(ops >= chunks, `single reads: ${ops} ops for ${chunks} chunks`)
    t.is(await settleInFlight(), 0)
    fs.closeSync(r)
  })

  t(`${name}: chunks written one by one arrive one by one`, async (t) => {
    const { r, w } = fifo()
    const it = readChunks(r, { multishot, bufferSize: 1024, bufferCount: 2 })
    for (let i = 0; i < 50; i++) {
      const msg = `message ${i} `.repeat((i % 5) + 1)
      fs.writeSync(w, msg)
      const { value, done } = await it.next()
      t.false(done)
      t.is(value.toString(), msg)
    }
    fs.closeSync(w)
    t.true((await it.next()).done)
    t.is(await settleInFlight(), 0)
    fs.closeSync(r)
  })

  t(`${name}: break cancels the read in the kernel`, async (t) => {
    const { r, w } = fifo()
    fs.writeSync(w, 'one')
    for await (const chunk of readChunks(r, { multishot })) {
      t.is(chunk.toString(), 'one')
      break
    }
    t.is(await settleInFlight(), 0, 'nothing left in flight after break')
    // The FIFO still works and nothing read it behind our back.
    fs.writeSync(w, 'two')
    const it = readChunks(r, { multishot })
    t.is((await it.next()).value.toString(), 'two')
    await it.return()
    fs.closeSync(w)
    fs.closeSync(r)
  })

  t(`${name}: AbortSignal rejects a pending next() with AbortError`, async (t) => {
    const { r, w } = fifo()
    const ac = new AbortController()
    const it = readChunks(r, { multishot, signal: ac.signal })
    const pending = it.next()
    await sleep(20)
    ac.abort(new Error('stop'))
    const err = await t.throwsAsync(pending)
    t.is(err.name, 'AbortError')
    t.is(err.code, 'ABORT_ERR')
    t.is(err.cause.message, 'stop')
    t.is(await settleInFlight(), 0)
    fs.closeSync(w)
    fs.closeSync(r)
  })

  t(`${name}: a regular file (not pollable) is read whole`, async (t) => {
    const p = path.join(dir, `file-${n++}`)
    const data = Buffer.alloc(300_000, 'abcdefg')
    fs.writeFileSync(p, data)
    const fh = await bfs.open(p)
    const parts = []
    for await (const c of readChunks(fh, { multishot, bufferSize: 65536 })) parts.push(c)
    t.true(Buffer.concat(parts).equals(data))
    await fh.close()
  })

  t(`${name}: a bad descriptor rejects like node:fs`, async (t) => {
    const fd = 1_000_000
    const expected = await new Promise((resolve) => fs.read(fd, Buffer.alloc(1), 0, 1, null, resolve))
    const err = await t.throwsAsync(readChunks(fd, { multishot }).next())
    t.is(err.code, expected.code)
    t.is(err.errno, expected.errno)
    t.is(err.syscall, expected.syscall)
  })
}

unless(multishotWhy, { serial: true })('multishot: a burst larger than the ring (ENOBUFS) loses nothing', async (t) => {
  const { r, w } = fifo()
  // 60 KiB sits in the pipe before the read is armed: 1 buffer of 64 bytes runs dry at once.
  const data = Buffer.alloc(60 * 1024)
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff
  fs.writeSync(w, data)
  fs.closeSync(w)
  const parts = []
  for await (const c of readChunks(r, { bufferSize: 64, bufferCount: 1 })) parts.push(c)
  t.true(Buffer.concat(parts).equals(data))
  fs.closeSync(r)
})

unless(notOnRing, { serial: true })('BOROS_MULTISHOT=0 forces single reads', (t) => {
  const script = `
    import { readChunks, stats } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}
    import fs from 'node:fs'
    const fd = fs.openSync(process.argv[1], 'r')
    const before = stats().opsSubmitted
    let chunks = 0
    for await (const c of readChunks(fd, { bufferSize: 1000 })) chunks++
    console.log(JSON.stringify({ chunks, ops: stats().opsSubmitted - before }))
  `
  const p = path.join(dir, `env-${n++}`)
  execFileSync('mkfifo', [p])
  // A FIFO fed by a shell: the read end sees 20 writes.
  const feeder = spawn('sh', ['-c', `for i in $(seq 1 20); do echo line $i; sleep 0.01; done > ${p}`])
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script, p], {
    env: { ...process.env, BOROS_MULTISHOT: '0' },
    encoding: 'utf8'
  })
  feeder.kill()
  t.is(out.status, 0, out.stderr)
  const { chunks, ops } = JSON.parse(out.stdout)
  t.true(chunks > 1)
  t.true(ops >= chunks, `${ops} ops for ${chunks} chunks`)
})

test('arguments are checked before anything is queued', (t) => {
  const before = stats().opsSubmitted
  t.throws(() => readChunks('3'), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  t.throws(() => readChunks({ fd: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => readChunks(-1), { code: 'ERR_OUT_OF_RANGE', instanceOf: RangeError })
  t.throws(() => readChunks(0, { bufferSize: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => readChunks(0, { bufferSize: 1.5 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => readChunks(0, { bufferCount: 40000 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => readChunks(0, { signal: {} }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => readChunks(0, { multishot: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.is(stats().opsSubmitted, before)
})
