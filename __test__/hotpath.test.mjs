// The shared submission queue and its arena (crates/boros-node/src/queue.rs): what a caller's
// buffer may go through while a queued read or write is in flight.
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as bfs from '../dist/fs/index.js'
import { stats } from '../dist/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

let dir
let file
const SIZE = 256 * 1024
const content = Buffer.alloc(SIZE)
for (let i = 0; i < SIZE; i++) content[i] = (i * 7 + (i >> 12)) & 0xff

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-hot-'))
  file = path.join(dir, 'data')
  fs.writeFileSync(file, content)
})
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

// Off the ring the read is node:fs's, which resolves into the transferred memory, as Node does.
unless(notOnRing && `${notOnRing}: node:fs reads into a transferred buffer resolve (as in Node)`, { serial: true })(
  'a read whose buffer is transferred while in flight fails with EFAULT and writes nothing',
  async (t) => {
    for (const length of [4096, 16384, 65536]) {
      const fh = await bfs.open(file)
      const buf = Buffer.alloc(length)
      const p = fh.read(buf, 0, length, 0)
      const moved = structuredClone(buf.buffer, { transfer: [buf.buffer] })
      t.is(buf.byteLength, 0)
      const err = await t.throwsAsync(p, { code: 'EFAULT' }, `length ${length}`)
      t.is(err.syscall, 'read')
      // The transferred memory was never written: the kernel only touched op-owned memory.
      t.true(
        new Uint8Array(moved).every((b) => b === 0),
        `length ${length}`
      )
      await fh.close()
    }
  }
)

// Off the ring node:fs writes from the caller's buffer on a libuv thread: a change made after the
// call may be written, as in Node (seen on Node 24; Node 20 here was faster than the fill).
unless(notOnRing && `${notOnRing}: node:fs writes from the caller's buffer later, on a libuv thread (as in Node)`, {
  serial: true
})('a write copies its bytes when queued: changing the source afterwards changes nothing', async (t) => {
  const f = path.join(dir, 'w')
  const fh = await bfs.open(f, 'w+')
  const src = Buffer.from('a'.repeat(4096))
  const p = fh.write(src, 0, 4096, 0)
  src.fill('b')
  t.is((await p).bytesWritten, 4096)
  await fh.close()
  t.is(fs.readFileSync(f, 'utf8'), 'a'.repeat(4096))
})

test.serial('thousands of concurrent small reads and writes on one handle land where they should', async (t) => {
  const f = path.join(dir, 'many')
  fs.writeFileSync(f, Buffer.alloc(SIZE))
  const fh = await bfs.open(f, 'r+')
  // More ops than arena slots (1024) and queue entries (1024): both overflow paths run.
  const writes = []
  for (let i = 0; i < 3000; i++) {
    const off = (i * 4099) % (SIZE - 100)
    const len = 1 + (i % 97)
    writes.push(fh.write(content, off, len, off))
  }
  for (const w of await Promise.all(writes)) t.true(w.bytesWritten > 0)
  const reads = []
  for (let i = 0; i < 3000; i++) {
    const off = (i * 4099) % (SIZE - 100)
    const len = 1 + (i % 97)
    const buf = new Uint8Array(len + 3)
    reads.push(fh.read(buf, 3, len, off).then((r) => [r, buf, off, len]))
  }
  for (const [r, buf, off, len] of await Promise.all(reads)) {
    t.is(r.bytesRead, len)
    if (!Buffer.from(buf.buffer, 3, len).equals(content.subarray(off, off + len))) t.fail(`bytes at ${off}`)
  }
  await fh.close()
  t.is(stats().inFlight, 0)
})

test.serial('reads into every kind of ArrayBufferView, at current positions, keep their order', async (t) => {
  const fh = await bfs.open(file)
  const views = [
    new Uint8Array(100),
    new Uint16Array(50),
    new Float64Array(25),
    new DataView(new ArrayBuffer(300), 100, 100)
  ]
  const results = await Promise.all(views.map((v) => fh.read(v, 0, 100, null)))
  // On the ring the reads of one handle at its current position go in call order. Off it
  // they are node:fs's, on libuv's threadpool, where they race for the position: each still
  // reads a whole 100-byte range of its own (the kernel's position lock), in any order.
  const ranges = []
  for (const [i, r] of results.entries()) {
    t.is(r.bytesRead, 100)
    t.is(r.buffer, views[i])
    const bytes = Buffer.from(r.buffer.buffer, r.buffer.byteOffset, 100)
    const at = notOnRing ? [0, 100, 200, 300].find((a) => bytes.equals(content.subarray(a, a + 100))) : i * 100
    t.true(at !== undefined && bytes.equals(content.subarray(at, at + 100)), `view ${i}`)
    ranges.push(at)
  }
  t.deepEqual(
    [...ranges].sort((a, b) => a - b),
    [0, 100, 200, 300],
    'every range read once'
  )
  await fh.close()
})
