// Regression tests for differences that Node's own tests found (conformance/, FINDINGS.md),
// each checked against node:fs/promises where the running Node behaves as Node 24 does.
import test from 'ava'
import * as fsp from 'node:fs/promises'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { notOnRing, unless } from './helpers/skip.mjs'

const require = createRequire(import.meta.url)
const bfs = require('../dist/fs/index.js')
const { WEB_STREAM_AUTO_CLOSE } = require('../dist/node-facts.js')

const dir = mkdtempSync(join(tmpdir(), 'boros-conf-'))
const file = join(dir, 'data')
const content = 'x'.repeat(40_000) + 'end\n'
writeFileSync(file, content)
const [major, minor] = process.versions.node.split('.').map(Number)
/** Node 22.15+ / 23.8+ / 24: readableWebStream is always a byte stream (autoClose: WEB_STREAM_AUTO_CLOSE). */
const nodeHasByteWebStreams = major >= 24 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15)
// Off the ring boros/fs is the running Node's node:fs/promises: these fixes are Node's own there.
// (22.15, 22.16, 24.0 and 24.1 make byte streams but neither check nor honour autoClose, nor warn
// on a type: WEB_STREAM_AUTO_CLOSE.)
const webStreams = unless(
  notOnRing && !(nodeHasByteWebStreams && WEB_STREAM_AUTO_CLOSE)
    ? `${notOnRing}: boros/fs is node:fs/promises, and Node ${process.versions.node}'s readableWebStream is not Node 24's`
    : undefined
)

async function webStreamCase(fs, options) {
  const fh = await fs.open(file)
  const text = await new Response(fh.readableWebStream(options)).text()
  const after = await fh.read().then(
    (r) => `read ${r.bytesRead}`,
    (e) => e.code
  )
  await fh.close()
  return { length: text.length, after }
}

for (const autoClose of [true, false, undefined]) {
  webStreams(
    `readableWebStream({ autoClose: ${autoClose} }) closes the handle at the end only when asked`,
    async (t) => {
      const boros = await webStreamCase(bfs, { autoClose })
      t.deepEqual(boros, { length: content.length, after: autoClose ? 'EBADF' : 'read 0' })
      if (WEB_STREAM_AUTO_CLOSE) t.deepEqual(boros, await webStreamCase(fsp, { autoClose }))
    }
  )
}

webStreams('readableWebStream: autoClose must be a boolean', async (t) => {
  const fh = await bfs.open(file)
  t.throws(() => fh.readableWebStream({ autoClose: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
  await fh.close()
})

webStreams('readableWebStream() is a byte stream without options: a BYOB reader works (Node 24)', async (t) => {
  const fh = await bfs.open(file)
  const reader = fh.readableWebStream().getReader({ mode: 'byob' })
  let got = ''
  for (;;) {
    const { value, done } = await reader.read(new DataView(new ArrayBuffer(100)))
    if (value) {
      t.true(value.byteLength <= 100)
      got += Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString()
    }
    if (done) break
  }
  t.is(got, content)
  await fh.close()
})

webStreams('readableWebStream: a non-"bytes" type warns as Node 24 does, and the stream is still bytes', async (t) => {
  const warnings = []
  const onWarning = (w) => warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  const fh = await bfs.open(file)
  const stream = fh.readableWebStream({ type: 'foobar' })
  t.notThrows(() => stream.getReader({ mode: 'byob' }).releaseLock())
  await stream.cancel()
  await fh.close()
  await new Promise((r) => setImmediate(r))
  process.off('warning', onWarning)
  t.deepEqual(warnings, [
    'ExperimentalWarning: A non-"bytes" options.type has no effect. A byte-oriented steam is always created.'
  ])
})

test('readableWebStream: closing the handle ends a stream locked to a reader', async (t) => {
  for (const fs of nodeHasByteWebStreams ? [bfs, fsp] : [bfs]) {
    const fh = await fs.open(file)
    const reader = fh.readableWebStream().getReader()
    const closed = reader.closed.then(() => 'closed')
    fh.close()
    t.is(await closed, 'closed')
  }
})

test.after.always(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

// Node's test-fs-read-stream-file-handle.js / test-fs-write-stream-file-handle-2.js.
function streamEvents(stream) {
  const events = []
  for (const name of ['end', 'error', 'close']) stream.on(name, (e) => events.push(name === 'error' ? e.code : name))
  stream.on('data', () => {})
  return new Promise((resolve) => stream.on('close', () => setImmediate(() => resolve(events))))
}

test('a read stream of a handle closed under it emits only close, as Node', async (t) => {
  const run = async (fs) => {
    const fh = await fs.open(file)
    const stream = fh.createReadStream({ highWaterMark: 1024 })
    stream.once('data', () => fh.close())
    return streamEvents(stream)
  }
  t.deepEqual(await run(bfs), await run(fsp))
  t.deepEqual(await run(bfs), ['close'])
})

test("handle streams call a handle's replaced read() and write(), as Node's do", async (t) => {
  const run = async (fs) => {
    const calls = { read: 0, write: 0 }
    const out = await fs.open(join(dir, `w-${fs === bfs ? 'b' : 'n'}`), 'w+')
    const write = out.write
    out.write = function (...args) {
      calls.write++
      return Reflect.apply(write, this, args)
    }
    const ws = out.createWriteStream()
    await new Promise((r) => ws.end('hello', r))
    const fh = await fs.open(file)
    const read = fh.read
    fh.read = function (...args) {
      calls.read++
      return Reflect.apply(read, this, args)
    }
    let n = 0
    for await (const c of fh.createReadStream()) n += c.length
    return { n, read: calls.read > 0, write: calls.write > 0 }
  }
  t.deepEqual(await run(bfs), await run(fsp))
})

test('createReadStream: a FileHandle with an fs option is a plain Error, as Node', async (t) => {
  const { createReadStream } = await import('node:fs')
  for (const [name, fs, create] of [
    ['boros', bfs, (fh) => bfs.createReadStream(fh, { fs: {} })],
    ['node', fsp, (fh) => createReadStream(null, { fd: fh, fs: {} })]
  ]) {
    const fh = await fs.open(file)
    const e = t.throws(() => create(fh), { code: 'ERR_METHOD_NOT_IMPLEMENTED' }, name)
    t.is(e.name, 'Error', name)
    await fh.close()
  }
})

test("createReadStream(path, { fs }) reads through the caller's fs, as Node", async (t) => {
  const nodeFs = await import('node:fs')
  const opened = []
  const own = {
    ...nodeFs,
    open: (...a) => {
      opened.push(a[0])
      return nodeFs.open(...a)
    }
  }
  let text = ''
  for await (const c of bfs.createReadStream(file, { fs: own, encoding: 'utf8' })) text += c
  t.is(text, content)
  t.deepEqual(opened, [file])
})
