// Streams, big files, routing and O_DIRECT of boros/fs, against node:fs on the same files.

import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import { once } from 'node:events'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import test from 'ava'
import * as bfs from '../dist/fs/index.js'
import { stats } from '../dist/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

// Off the ring boros/fs is the running Node's node:fs/promises. Before Node 24 its
// FileHandle.read treats a bigint position as the current one: the bigint checks are skipped there.
const bigintReads = unless(
  notOnRing && Number(process.versions.node.split('.')[0]) < 24
    ? `${notOnRing}: boros/fs is node:fs/promises, and Node ${process.versions.node}'s FileHandle.read ignores bigint positions`
    : undefined
)

let dir
let n = 0
/** How many of this process's descriptors are open on `file`. */
const openDescriptorsOf = (file) =>
  fs.readdirSync('/proc/self/fd').filter((d) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${d}`) === file
    } catch {
      return false
    }
  }).length
const tmp = (name = 'f') => path.join(dir, `${name}-${n++}`)
const GiB = 2 ** 30

test.before(() => {
  // os.tmpdir() is on ext4 here (checked with df); never /dev/shm for the big files.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-streams-'))
})
test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

async function hashFile(f) {
  const h = crypto.createHash('sha256')
  await pipeline(fs.createReadStream(f, { highWaterMark: 1 << 20 }), h)
  return h.digest('hex')
}

const closed = (s) => (s.closed ? undefined : once(s, 'close'))

async function collect(stream) {
  const chunks = []
  for await (const c of stream) chunks.push(c)
  return chunks
}

test.serial('pipeline(createReadStream, createWriteStream) copies a 1 GiB file byte-exact', async (t) => {
  const src = tmp('big-src')
  const dst = tmp('big-dst')
  // 1 GiB of pseudo-random bytes: 16 different 64 MiB blocks.
  const fd = fs.openSync(src, 'w')
  const block = crypto.randomBytes(64 << 20)
  for (let i = 0; i < 16; i++) {
    block.writeUInt32LE(i, 0)
    fs.writeSync(fd, block)
  }
  fs.closeSync(fd)
  await pipeline(bfs.createReadStream(src), bfs.createWriteStream(dst))
  t.is(fs.statSync(dst).size, GiB)
  t.is(await hashFile(dst), await hashFile(src))
  fs.rmSync(dst)
  // readFile of the same file: one owned allocation, same bytes.
  const data = await bfs.readFile(src)
  t.is(data.length, GiB)
  t.is(crypto.createHash('sha256').update(data).digest('hex'), await hashFile(src))
  // writeFile of it writes every byte.
  await bfs.writeFile(dst, data, { flush: true })
  t.is(await hashFile(dst), await hashFile(src))
  fs.rmSync(src)
  fs.rmSync(dst)
})

test('createReadStream honours start/end/highWaterMark like node:fs', async (t) => {
  const f = tmp()
  const bytes = crypto.randomBytes(300_000)
  fs.writeFileSync(f, bytes)
  for (const opts of [
    {},
    { start: 5 },
    { start: 10, end: 10 },
    { end: 99_999 },
    { start: 1000, end: 250_000, highWaterMark: 4096 },
    { start: 400_000 }
  ]) {
    const ours = Buffer.concat(await collect(bfs.createReadStream(f, opts)))
    const theirs = Buffer.concat(await collect(fs.createReadStream(f, opts)))
    t.true(ours.equals(theirs), JSON.stringify(opts))
  }
  const chunks = await collect(bfs.createReadStream(f, { highWaterMark: 1000, end: 4999 }))
  t.deepEqual(
    chunks.map((c) => c.length),
    [1000, 1000, 1000, 1000, 1000]
  )
  const unread = bfs.createReadStream(f)
  t.true(unread instanceof fs.ReadStream)
  unread.destroy() // it opened the file: a handle left to the garbage collector is an error on Node 26
  await closed(unread)
  t.throws(() => bfs.createReadStream(f, { start: 10, end: 5 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => bfs.createReadStream(f, { start: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => bfs.createReadStream(f, { signal: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('encodings: read streams decode like node:fs, write streams encode', async (t) => {
  const f = tmp()
  const text = 'héllo wörld ✓ 日本語\n'.repeat(5000)
  fs.writeFileSync(f, text)
  for (const encoding of ['utf8', 'hex', 'base64', 'latin1', 'utf16le']) {
    // Small highWaterMark: multi-byte characters straddle chunk boundaries.
    const ours = (await collect(bfs.createReadStream(f, { encoding, highWaterMark: 1001 }))).join('')
    const theirs = (await collect(fs.createReadStream(f, { encoding, highWaterMark: 1001 }))).join('')
    t.is(ours, theirs, encoding)
  }
  const g = tmp()
  const ws = bfs.createWriteStream(g, { encoding: 'hex' })
  ws.write('68656c6c6f')
  ws.end(' world', 'utf8')
  await once(ws, 'close')
  t.is(fs.readFileSync(g, 'utf8'), 'hello world')
  t.is(ws.bytesWritten, 11)
})

// Off the ring the handle is node:fs's, and Node (20 and 24 alike) never ends the second read
// stream of a handle whose first stream had autoClose: false: the test would hang there.
unless(
  notOnRing && `${notOnRing}: node:fs never ends a second read stream of a handle after one with autoClose: false`
)('write stream: start, flags, flush, emitClose, FileHandle with autoClose false', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, 'aaaaaaaaaa')
  const ws = bfs.createWriteStream(f, { flags: 'r+', start: 3, flush: true })
  ws.end('XYZ')
  await once(ws, 'close')
  t.is(fs.readFileSync(f, 'utf8'), 'aaaXYZaaaa')

  const fh = await bfs.open(f, 'r+')
  const ws2 = fh.createWriteStream({ autoClose: false, start: 0 })
  ws2.end('bb')
  await once(ws2, 'finish')
  t.true(fh.fd >= 0, 'handle stays open')
  const rs = fh.createReadStream({ start: 0, autoClose: false })
  t.is(Buffer.concat(await collect(rs)).toString(), 'bbaXYZaaaa')
  t.true(fh.fd >= 0)
  // autoClose (default) closes the handle at the end.
  const rs2 = fh.createReadStream({ start: 8 })
  t.is(Buffer.concat(await collect(rs2)).toString(), 'aa')
  await closed(rs2)
  t.is(fh.fd, -1)

  const ws3 = bfs.createWriteStream(tmp(), { emitClose: false })
  ws3.end('x')
  await once(ws3, 'finish')
  t.pass()
})

test('errors are node:fs errors: ENOENT, EISDIR, EEXIST', async (t) => {
  const missing = path.join(dir, 'nope', 'x')
  const errOf = async (s) => {
    s.resume?.() // a read stream fails on its first read (EISDIR)
    return (await once(s, 'error').catch((e) => [e]))[0]
  }
  for (const make of [
    (m) => m.createReadStream(missing),
    (m) => m.createReadStream(dir),
    (m) => m.createWriteStream(missing)
  ]) {
    const [a, b] = await Promise.all([errOf(make(bfs)), errOf(make(fs))])
    t.like(a, { code: b.code, errno: b.errno, syscall: b.syscall, path: b.path })
  }
  const f = tmp()
  fs.writeFileSync(f, 'x')
  const [a, b] = await Promise.all([
    errOf(bfs.createWriteStream(f, { flags: 'wx' })),
    errOf(fs.createWriteStream(f, { flags: 'wx' }))
  ])
  t.like(a, { code: 'EEXIST', errno: b.errno, syscall: 'open', path: f })
})

// Off the ring the read of the empty FIFO blocks a libuv thread that no signal takes back.
unless(notOnRing, { serial: true })(
  'abort via signal mid-stream cancels the in-flight read in the kernel',
  async (t) => {
    const fifo = tmp('fifo')
    execFileSync('mkfifo', [fifo])
    // O_RDWR: open does not wait for a writer, and a read with no data waits in the kernel.
    const fh = await bfs.open(fifo, 'r+')
    const before = stats().inFlight
    const ac = new AbortController()
    const rs = fh.createReadStream({ signal: ac.signal })
    await fh.write('first chunk')
    const [first] = await once(rs, 'data')
    t.is(first.toString(), 'first chunk')
    // The stream's next read is now waiting in the kernel for data that never comes.
    await new Promise((r) => setTimeout(r, 50))
    t.is(stats().inFlight, before + 1, 'one read in flight')
    const errored = once(rs, 'error').catch((e) => [e])
    ac.abort()
    const [err] = await errored
    t.is(err.name, 'AbortError')
    await closed(rs)
    // The stream closed the handle, which waits for its reads: the cancel really completed it.
    t.is(fh.fd, -1)
    t.is(stats().inFlight, before)
  }
)

test('abort before start, and of a write stream', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, 'data')
  const ac = new AbortController()
  ac.abort()
  const rs = bfs.createReadStream(f, { signal: ac.signal })
  const [err] = await once(rs, 'error').catch((e) => [e])
  t.is(err.name, 'AbortError')
  // Node's stream opens the file even so and never closes it (node:fs leaks the descriptor);
  // boros closes its handle (left to the garbage collector it is an uncaught error on Node 26).
  await closed(rs)
  await new Promise((r) => setTimeout(r, 50))
  if (notOnRing) t.log(`${notOnRing}: the stream is node:fs's, which leaves the file open (not checked)`)
  else t.is(openDescriptorsOf(f), 0, 'the aborted stream left its file open')
  const g = tmp()
  const ws0 = bfs.createWriteStream(g, { signal: ac.signal })
  t.is((await once(ws0, 'error').catch((e) => [e]))[0].name, 'AbortError')
  await closed(ws0)
  await new Promise((r) => setTimeout(r, 50))
  if (!notOnRing) t.is(openDescriptorsOf(g), 0, 'the aborted write stream left its file open')
  const ac2 = new AbortController()
  const ws = bfs.createWriteStream(tmp(), { signal: ac2.signal })
  ws.write('x')
  ac2.abort()
  const [err2] = await once(ws, 'error').catch((e) => [e])
  t.is(err2.name, 'AbortError')
})

test('readLines yields lines like node:fs/promises', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, 'one\r\ntwo\n\nthree\nlast without newline')
  const fh = await bfs.open(f)
  const ours = []
  for await (const l of fh.readLines()) ours.push(l)
  const nh = await fsp.open(f)
  const theirs = []
  for await (const l of nh.readLines()) theirs.push(l)
  t.deepEqual(ours, theirs)
  t.is(fh.fd, -1, 'closed at the end (autoClose)')
})

test('readableWebStream: default and bytes (BYOB)', async (t) => {
  const f = tmp()
  const bytes = crypto.randomBytes(200_000)
  fs.writeFileSync(f, bytes)
  const fh = await bfs.open(f)
  const got = []
  for await (const c of fh.readableWebStream()) got.push(Buffer.from(c))
  t.true(Buffer.concat(got).equals(bytes))
  t.throws(() => fh.readableWebStream(), { code: 'ERR_INVALID_STATE' }, 'locked to its stream, as in Node')
  await fh.close()
  t.throws(() => fh.readableWebStream(), { code: 'ERR_INVALID_STATE' })

  const fh2 = await bfs.open(f)
  const reader = fh2.readableWebStream({ type: 'bytes' }).getReader({ mode: 'byob' })
  const parts = []
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(7000))
    if (done) break
    parts.push(Buffer.from(value))
  }
  t.true(Buffer.concat(parts).equals(bytes))
  await fh2.close()
})

// node:fs's FileHandle.write (Node 20 to 26) takes a bigint position as the current one.
unless(notOnRing && `${notOnRing}: node:fs's FileHandle.write ignores bigint positions`)(
  'positions past 2^32 on a sparse 5 GiB file (number and bigint)',
  async (t) => {
    const f = tmp('sparse')
    const fh = await bfs.open(f, 'w+')
    const pos = 5n * BigInt(GiB)
    await fh.write(Buffer.from('tail-bytes'), 0, 10, pos)
    await fh.write(Buffer.from('mid'), 0, 3, 2 ** 32 + 7)
    t.is((await fh.stat()).size, Number(pos) + 10)
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(10), 0, 10, pos)
    t.is(bytesRead, 10)
    t.is(buffer.toString(), 'tail-bytes')
    const r = await fh.read({ buffer: Buffer.alloc(3), position: BigInt(2 ** 32 + 7) })
    t.is(r.buffer.toString(), 'mid')
    const tail = Buffer.concat(await collect(fh.createReadStream({ start: Number(pos) - 2, autoClose: false })))
    t.deepEqual(tail, Buffer.concat([Buffer.alloc(2), Buffer.from('tail-bytes')]))
    await fh.close()
    const ours = await bfs.readFile(f).catch((e) => e)
    const theirs = await fsp.readFile(f).catch((e) => e)
    t.is(ours.code, 'ERR_FS_FILE_TOO_LARGE')
    t.is(ours.code, theirs.code)
    t.is(ours.message, theirs.message)
  }
)

test('readFile of a large file: exact bytes, encoding, and a file that shrank', async (t) => {
  const f = tmp()
  const bytes = crypto.randomBytes(5 << 20)
  fs.writeFileSync(f, bytes)
  t.true((await bfs.readFile(f)).equals(bytes))
  t.is(await bfs.readFile(f, 'base64'), bytes.toString('base64'))
  const fh = await bfs.open(f)
  await fh.read(Buffer.alloc(100), 0, 100, null)
  t.true((await fh.readFile()).equals(bytes.subarray(100)), 'handle readFile reads from the current position')
  await fh.close()
  // An owned result survives garbage collection of everything else.
  const kept = await bfs.readFile(f)
  globalThis.gc?.()
  t.is(kept[12345], bytes[12345])
})

bigintReads('tmpfs and procfs files are read correctly on their routes', async (t) => {
  const shm = path.join('/dev/shm', `boros-route-${process.pid}`)
  const bytes = crypto.randomBytes(1 << 20)
  fs.writeFileSync(shm, bytes)
  try {
    t.true((await bfs.readFile(shm)).equals(bytes))
    const fh = await bfs.open(shm)
    const a = await fh.read(Buffer.alloc(10), 0, 10, null)
    const b = await fh.read(Buffer.alloc(10), 0, 10, null)
    t.deepEqual(Buffer.concat([a.buffer, b.buffer]), bytes.subarray(0, 20), 'current position advances')
    const c = await fh.read(Buffer.alloc(4), 0, 4, 1000n)
    t.deepEqual(c.buffer, bytes.subarray(1000, 1004))
    t.true(Buffer.concat(await collect(fh.createReadStream({ start: 0 }))).equals(bytes))
    t.is(fh.fd, -1)
    const closed = await fh.read(Buffer.alloc(1), 0, 1, 0).catch((e) => e)
    t.is(closed.code, 'EBADF')
  } finally {
    fs.rmSync(shm)
  }
  t.is(await bfs.readFile('/proc/version', 'utf8'), fs.readFileSync('/proc/version', 'utf8'))
  const dh = await bfs.open('/proc')
  const e1 = await dh.read(Buffer.alloc(4), 0, 4, 0).catch((e) => e)
  const nh = await fsp.open('/proc')
  const e2 = await nh.read(Buffer.alloc(4), 0, 4, 0).catch((e) => e)
  t.like(e1, { code: e2.code, errno: e2.errno, syscall: e2.syscall })
  await dh.close()
  await nh.close()
})

test('O_DIRECT: aligned buffers work, unaligned ones get a clear EINVAL', async (t) => {
  const { O_DIRECT, O_RDWR, O_CREAT } = fs.constants
  const f = tmp('direct')
  const fh = await bfs.open(f, O_RDWR | O_CREAT | O_DIRECT)
  const out = bfs.alignedBuffer(8192)
  t.is(out.length, 8192)
  t.true(out.every((x) => x === 0))
  crypto.randomFillSync(out)
  t.is((await fh.write(out, 0, 8192, 0)).bytesWritten, 8192)
  const back = bfs.alignedBuffer(8192)
  t.is((await fh.read(back, 0, 8192, 0)).bytesRead, 8192)
  t.true(back.equals(out))
  // Streams and whole-buffer reads of aligned sizes work too.
  // boros's streams read into aligned memory; node:fs's (off the ring) do not, and get EINVAL.
  const stream = collect(fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 4096 }))
  if (notOnRing === undefined) t.true(Buffer.concat(await stream).equals(out))
  else t.like(await t.throwsAsync(stream), { code: 'EINVAL', syscall: 'read' })

  // The explanation in the message is boros's (on the ring); off the ring it is node:fs's EINVAL.
  const explains = notOnRing === undefined ? /O_DIRECT/ : /^EINVAL: invalid argument/
  // Unaligned for sure: a Buffer's memory starts 16-byte aligned (malloc), so one byte in it is
  // never on a 512-byte boundary (a fresh Buffer.alloc(4096) may be, by chance: the fallback
  // run then read it without an error).
  const unalignedBuf = await fh.read(Buffer.alloc(4097).subarray(1), 0, 4096, 0).catch((e) => e)
  t.like(unalignedBuf, { code: 'EINVAL', errno: -22, syscall: 'read' })
  if (notOnRing === undefined) t.regex(unalignedBuf.message, /O_DIRECT.*multiple of \d+ bytes.*alignedBuffer/)
  const unalignedLen = await fh.read(bfs.alignedBuffer(4096), 0, 100, 0).catch((e) => e)
  t.is(unalignedLen.code, 'EINVAL')
  t.regex(unalignedLen.message, explains)
  const unalignedWrite = await fh.write(bfs.alignedBuffer(8192).subarray(1, 4097), 0, 4096, 0).catch((e) => e)
  t.like(unalignedWrite, { code: 'EINVAL', syscall: 'write' })
  t.regex(unalignedWrite.message, explains)
  await fh.close()
  t.throws(() => bfs.alignedBuffer(10, 3), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => bfs.alignedBuffer(-1), { code: 'ERR_OUT_OF_RANGE' })
})

test.serial(
  'a write stream hands the chunks it buffered to one writev: fewer ring ops than chunks, bytes in order',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-writev-'))
    const file = path.join(dir, 'out')
    const chunks = Array.from({ length: 2000 }, (_, i) => Buffer.from(`chunk ${i} ${'x'.repeat(i % 50)}\n`))
    const before = stats().opsSubmitted
    const ws = bfs.createWriteStream(file)
    for (const c of chunks) if (!ws.write(c)) await once(ws, 'drain')
    ws.end()
    await once(ws, 'close')
    const ops = stats().opsSubmitted - before
    t.true(fs.readFileSync(file).equals(Buffer.concat(chunks)))
    // open + close + at most one op per chunk without writev; buffered chunks share one writev.
    t.true(ops < chunks.length, `${ops} ring ops for ${chunks.length} chunks`)
    fs.rmSync(dir, { recursive: true, force: true })
  }
)
