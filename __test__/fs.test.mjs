// boros/fs against node:fs/promises: same bytes, same Stats, same errors.
import test from 'ava'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import crypto from 'node:crypto'
import * as bfs from '../dist/fs/index.js'
import { node24Read, scratch } from './helpers/fs-scratch.mjs'

const { tmp, withFile } = scratch(test)

// --- whole-file round trips ------------------------------------------------------------

test.serial('writeFile then readFile (Buffer and encoding) matches node:fs', async (t) => {
  const f = tmp()
  const text = 'héllo wörld ✓\n'.repeat(100)
  await bfs.writeFile(f, text)
  t.is(fs.readFileSync(f, 'utf8'), text)
  const buf = await bfs.readFile(f)
  t.true(Buffer.isBuffer(buf))
  t.deepEqual(buf, await fsp.readFile(f))
  t.is(await bfs.readFile(f, 'utf8'), text)
  t.is(await bfs.readFile(f, { encoding: 'utf8' }), text)
  t.is(await bfs.readFile(f, 'base64'), await fsp.readFile(f, 'base64'))
  t.is(await bfs.readFile(f, 'latin1'), await fsp.readFile(f, 'latin1'))
})

test.serial('writeFile with an encoding and a mode', async (t) => {
  const f = tmp()
  await bfs.writeFile(f, 'aGVsbG8=', { encoding: 'base64', mode: 0o640 })
  t.is(fs.readFileSync(f, 'utf8'), 'hello')
  t.is(fs.statSync(f).mode & 0o777, 0o640 & ~process.umask())
  await bfs.writeFile(f, '68690a', 'hex')
  t.is(fs.readFileSync(f, 'utf8'), 'hi\n', 'writeFile truncates by default')
})

test.serial('readFile of an empty file', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, '')
  const b = await bfs.readFile(f)
  t.true(Buffer.isBuffer(b))
  t.is(b.length, 0)
  t.is(await bfs.readFile(f, 'utf8'), '')
})

test.serial('readFile of a 5 MiB file', async (t) => {
  const f = tmp()
  const data = crypto.randomBytes(5 * 1024 * 1024 + 123)
  fs.writeFileSync(f, data)
  const got = await bfs.readFile(f)
  t.is(got.length, data.length)
  t.true(got.equals(data))
})

test.serial('writeFile of a 5 MiB buffer', async (t) => {
  const f = tmp()
  const data = crypto.randomBytes(5 * 1024 * 1024 + 7)
  await bfs.writeFile(f, data)
  t.true(fs.readFileSync(f).equals(data))
})

test.serial('readFile of /proc/self/status (stat size 0) still returns its content', async (t) => {
  t.is(fs.statSync('/proc/self/status').size, 0)
  const s = await bfs.readFile('/proc/self/status', 'utf8')
  t.true(s.length > 100)
  t.regex(s, /^Name:\s+/m)
  t.regex(s, new RegExp(`^Pid:\\s+${process.pid}$`, 'm'))
})

test.serial('readFile of a file larger than 64 KiB that stat reports as size 0 (procfs) is complete', async (t) => {
  // /proc/self/smaps of a node process is usually larger than one 64 KiB chunk or close to it;
  // compare with node's reader regardless of size: its synchronous one (Node 22.0's
  // fs/promises readFile stops at the first read of such a file: 4 KiB of ~75 KiB).
  const ours = await bfs.readFile('/proc/self/smaps')
  const theirs = fs.readFileSync('/proc/self/smaps')
  // Both are live views, so allow drift but require the same order of magnitude and header.
  t.true(ours.length > 0.5 * theirs.length && ours.length < 2 * theirs.length, `${ours.length} vs ${theirs.length}`)
  t.is(ours.subarray(0, 20).toString(), theirs.subarray(0, 20).toString())
})

test("an unknown encoding is refused with the running Node's message (ENCODING_ERROR_NAMES_THE_VALUE)", async (t) => {
  const { ENCODING_ERROR_NAMES_THE_VALUE } = await import('../dist/node-facts.js')
  const f = tmp()
  fs.writeFileSync(f, 'x')
  for (const encoding of ['bogus', 'a.b', 5]) {
    const calls = [
      (m) => m.readFile(f, { encoding }),
      (m) => m.writeFile(f, 'y', { encoding }),
      (m) => m.appendFile(f, 'y', { encoding })
    ]
    for (const call of calls) {
      const theirs = await call(fsp).catch((e) => e)
      const ours = await call(bfs).catch((e) => e)
      t.like(ours, { name: theirs.name, code: theirs.code, message: theirs.message }, `${call} ${encoding}`)
    }
    // The fact, checked on the running Node (22.0-22.14 swap the name and the value).
    const theirs = await fsp.readFile(f, { encoding }).catch((e) => e)
    t.is(theirs.message.endsWith("Received 'encoding'"), ENCODING_ERROR_NAMES_THE_VALUE, theirs.message)
  }
  t.is(fs.readFileSync(f, 'latin1'), 'x', 'nothing was written')
})

test.serial('writeFile of a Uint8Array, a DataView, and iterables', async (t) => {
  const f = tmp()
  await bfs.writeFile(f, new Uint8Array([104, 105, 33]))
  t.is(fs.readFileSync(f, 'utf8'), 'hi!')
  const u16 = new Uint16Array([0x4241, 0x4443]) // little-endian "ABCD"
  await bfs.writeFile(f, u16)
  t.is(fs.readFileSync(f, 'utf8'), 'ABCD')
  const ab = new Uint8Array([0, 1, 2, 3, 4, 5]).buffer
  await bfs.writeFile(f, new DataView(ab, 2, 3))
  t.deepEqual([...fs.readFileSync(f)], [2, 3, 4])
  await bfs.writeFile(f, ['one ', 'two ', 'three'])
  t.is(fs.readFileSync(f, 'utf8'), 'one two three')
  function* gen() {
    yield 'a'
    yield Buffer.from('b')
    yield 'c'
  }
  await bfs.writeFile(f, gen())
  t.is(fs.readFileSync(f, 'utf8'), 'abc')
  async function* agen() {
    yield 'x'
    await new Promise((r) => setTimeout(r, 5))
    yield 'y'
  }
  await bfs.writeFile(f, agen())
  t.is(fs.readFileSync(f, 'utf8'), 'xy')
})

test.serial('appendFile appends (creating the file) like fs.promises.appendFile', async (t) => {
  const f = tmp()
  const g = tmp()
  await bfs.appendFile(f, 'first\n')
  await bfs.appendFile(f, Buffer.from('second\n'))
  await bfs.appendFile(f, 'dGhpcmQK', 'base64')
  await fsp.appendFile(g, 'first\n')
  await fsp.appendFile(g, Buffer.from('second\n'))
  await fsp.appendFile(g, 'dGhpcmQK', 'base64')
  t.is(fs.readFileSync(f, 'utf8'), 'first\nsecond\nthird\n')
  t.deepEqual(fs.readFileSync(f), fs.readFileSync(g))
})

test.serial('FileHandle.appendFile on an "a" handle appends', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, 'start|')
  const fh = await bfs.open(f, 'a')
  await fh.appendFile('more|')
  await fh.appendFile('end')
  await fh.close()
  t.is(fs.readFileSync(f, 'utf8'), 'start|more|end')
})

test.serial('readFile and writeFile accept a FileHandle, Buffer path and file: URL', async (t) => {
  const f = tmp()
  fs.writeFileSync(f, 'abcdef')
  t.is(await bfs.readFile(Buffer.from(f), 'utf8'), 'abcdef')
  t.is(await bfs.readFile(new URL(`file://${f}`), 'utf8'), 'abcdef')
  const fh = await bfs.open(f, 'r+')
  try {
    await fh.read(Buffer.alloc(2), 0, 2, null) // advance the current position to 2
    t.is(await bfs.readFile(fh, 'utf8'), 'cdef', 'readFile(handle) reads from the current position')
    await bfs.writeFile(fh, 'XY')
    t.is(fs.readFileSync(f, 'utf8'), 'abcdefXY')
  } finally {
    await fh.close()
  }
})

node24Read('FileHandle.read(buffer, offset, length, position) matches node', async (t) => {
  await withFile(t, '0123456789', async (fh, nfh) => {
    const a = Buffer.alloc(8, '.')
    const b = Buffer.alloc(8, '.')
    const ra = await fh.read(a, 2, 4, 3)
    const rb = await nfh.read(b, 2, 4, 3)
    t.is(ra.bytesRead, rb.bytesRead)
    t.is(ra.buffer, a)
    t.is(a.toString(), '..3456..')
    t.deepEqual(a, b)
    // Short read at EOF
    const c = Buffer.alloc(8)
    t.is((await fh.read(c, 0, 8, 7)).bytesRead, 3)
    t.is(c.subarray(0, 3).toString(), '789')
    t.is((await fh.read(c, 0, 8, 10)).bytesRead, 0)
    t.is((await fh.read(c, 0, 8, 1000)).bytesRead, 0)
    // bigint position
    const d = Buffer.alloc(2)
    t.is((await fh.read(d, 0, 2, 5n)).bytesRead, 2)
    t.is(d.toString(), '56')
  })
})

test.serial('FileHandle.read(buffer, { offset, length, position }) matches node', async (t) => {
  await withFile(t, 'abcdefghij', async (fh, nfh) => {
    const a = Buffer.alloc(6, '-')
    const b = Buffer.alloc(6, '-')
    const ra = await fh.read(a, { offset: 1, length: 3, position: 4 })
    const rb = await nfh.read(b, { offset: 1, length: 3, position: 4 })
    t.is(ra.bytesRead, 3)
    t.is(ra.bytesRead, rb.bytesRead)
    t.is(a.toString(), '-efg--')
    t.deepEqual(a, b)
    // Defaults: offset 0, length the rest of the buffer
    const c = Buffer.alloc(4)
    const rc = await fh.read(c, { position: 6 })
    t.is(rc.bytesRead, 4)
    t.is(c.toString(), 'ghij')
  })
})

test.serial('FileHandle.read({ buffer, offset, length, position }) and read() match node', async (t) => {
  await withFile(t, 'ABCDEFGHIJ', async (fh, nfh) => {
    const a = Buffer.alloc(5, '_')
    const ra = await fh.read({ buffer: a, offset: 1, length: 2, position: 8 })
    t.is(ra.bytesRead, 2)
    t.is(ra.buffer, a)
    t.is(a.toString(), '_IJ__')
    const u = new Uint8Array(3)
    const ru = await fh.read({ buffer: u, position: 0 })
    t.is(ru.bytesRead, 3)
    t.is(ru.buffer, u)
    t.deepEqual([...u], [65, 66, 67])
    // No arguments: a fresh 16 KiB buffer, read from the current position.
    const rd = await fh.read()
    const rn = await nfh.read()
    t.true(Buffer.isBuffer(rd.buffer))
    t.is(rd.buffer.length, rn.buffer.length)
    t.is(rd.bytesRead, rn.bytesRead)
    t.is(rd.buffer.subarray(0, rd.bytesRead).toString(), 'ABCDEFGHIJ')
  })
})

test.serial('position null (or omitted, or -1) reads at the current position and advances it', async (t) => {
  await withFile(t, '0123456789', async (fh) => {
    const b = Buffer.alloc(3)
    t.is((await fh.read(b, 0, 3, null)).bytesRead, 3)
    t.is(b.toString(), '012')
    t.is((await fh.read(b, 0, 3)).bytesRead, 3)
    t.is(b.toString(), '345')
    // An explicit position neither uses nor moves the current position
    t.is((await fh.read(b, 0, 3, 0)).bytesRead, 3)
    t.is(b.toString(), '012')
    t.is((await fh.read(b, { position: null })).bytesRead, 3)
    t.is(b.toString(), '678')
    t.is((await fh.read(b, 0, 3, -1)).bytesRead, 1)
    t.is(b.subarray(0, 1).toString(), '9')
    t.is((await fh.read(b, 0, 3, null)).bytesRead, 0)
  })
})

test.serial('read of length 0 resolves with 0 without touching the buffer', async (t) => {
  await withFile(t, 'xyz', async (fh) => {
    const b = Buffer.from('keep')
    const r = await fh.read(b, 0, 0, 0)
    t.is(r.bytesRead, 0)
    t.is(b.toString(), 'keep')
  })
})

// --- FileHandle.write --------------------------------------------------------------------

test.serial('FileHandle.write of a Buffer: positional, ranged, options form, current position', async (t) => {
  await withFile(t, '..........', async (fh, _nfh, f) => {
    const r = await fh.write(Buffer.from('ABCDEF'), 1, 3, 4)
    t.is(r.bytesWritten, 3)
    t.is(fs.readFileSync(f, 'utf8'), '....BCD...')
    const src = Buffer.from('xyz')
    const r2 = await fh.write(src, { offset: 0, length: 2, position: 8 })
    t.is(r2.bytesWritten, 2)
    t.is(r2.buffer, src)
    t.is(fs.readFileSync(f, 'utf8'), '....BCD.xy')
    // position null: the current position (0 on a fresh r+ handle), which advances
    await fh.write(Buffer.from('12'))
    await fh.write(Buffer.from('34'), 0, 2, null)
    t.is(fs.readFileSync(f, 'utf8'), '1234BCD.xy')
    // A Uint8Array is accepted and its buffer returned
    const u = new Uint8Array([0x51])
    const r3 = await fh.write(u, 0, 1, 9)
    t.is(r3.buffer, u)
    t.is(fs.readFileSync(f, 'utf8'), '1234BCD.xQ')
  })
})

test.serial('FileHandle.write of a string, with position and encoding', async (t) => {
  await withFile(t, '', async (fh, nfh, f) => {
    const r = await fh.write('héllo')
    t.is(r.bytesWritten, Buffer.byteLength('héllo'))
    t.is(r.buffer, 'héllo')
    t.is(fs.readFileSync(f, 'utf8'), 'héllo')
    // 'héllo' is 6 bytes in utf8: h c3 a9 l l o
    await fh.write('HE', 0)
    t.deepEqual([...fs.readFileSync(f)], [0x48, 0x45, 0xa9, 0x6c, 0x6c, 0x6f])
    const r2 = await fh.write('é', 1, 'latin1')
    t.is(r2.bytesWritten, 1)
    t.deepEqual([...fs.readFileSync(f).subarray(0, 3)], [0x48, 0xe9, 0xa9])
    await fh.write('4142', 10, 'hex')
    const all = fs.readFileSync(f)
    t.is(all.length, 12)
    t.is(all.subarray(10).toString(), 'AB')
    t.deepEqual([...all.subarray(6, 10)], [0, 0, 0, 0], 'a write past EOF leaves a hole')
    // node's FileHandle does the same with the same calls
    await nfh.truncate(0)
    await nfh.write('héllo', 0)
    await nfh.write('HE', 0)
    await nfh.write('é', 1, 'latin1')
    await nfh.write('4142', 10, 'hex')
    t.deepEqual(fs.readFileSync(f), all)
  })
})

test.serial('sync() and datasync() resolve', async (t) => {
  await withFile(t, 'data', async (fh) => {
    t.is(await fh.sync(), undefined)
    t.is(await fh.datasync(), undefined)
  })
})
