// Receive memory of boros/net (issue 21 "Scale and memory", issue 24 item 9): received bytes
// are handed to JS in bounded segments (crates/boros-node/src/segments.rs), not one
// Buffer per round of completions. Each scenario runs in a child process on each backend
// (fixtures/net-memory-child.mjs); node:net (the fallback) must pass the same checks.

import fs from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import test from 'ava'
import { lastLine, runChild } from './helpers/child.mjs'

const child = fileURLToPath(new URL('./fixtures/net-memory-child.mjs', import.meta.url))

async function run(scenario, env) {
  const { code, out, err } = await runChild([child, scenario], { env })
  const line = lastLine(out)
  if (code !== 0 || !line) throw new Error(`exit ${code}: ${err.slice(-2000)}`)
  return JSON.parse(line)
}

for (const backend of ['io_uring', 'fallback']) {
  // Each variant names its backend for the child, whatever this process was started with.
  const env = { BOROS_BACKEND: backend === 'fallback' ? 'fallback' : '' }
  const name = backend === 'fallback' ? 'node:net' : 'io_uring'

  test(`${backend}: kept chunks stay intact, and each pins at most one segment`, async (t) => {
    const r = await run('segments', env)
    t.is(r.backend, name)
    t.true(r.bytes, 'every byte arrived')
    t.deepEqual(r.mismatched, [], 'connections whose kept chunks differ from what was sent')
    // Before segments, one retained view pinned its whole round (up to ~16 MiB here).
    t.is(
      r.oversized,
      0,
      `chunks whose ArrayBuffer is larger than 64 KiB and the chunk (largest: ${r.maxBufferKiB} KiB)`
    )
  })

  test(`${backend}: a transferred chunk's memory is never written again`, async (t) => {
    const r = await run('transfer', env)
    t.is(r.backend, name)
    if (!r.transferred) t.log('the ArrayBuffer could not be transferred here: only delivery is checked')
    t.true(r.ok, 'every message arrived intact')
    t.true(r.untouched, 'the transferred memory kept its bytes')
  })
}
// Memory per connection (issue 21): an accepted connection's receive and its sends call
// functions shared by every connection (binding.ts calls them on the connection), not a
// closure and its context each; per accepted connection boros/net then makes no more
// functions than node:net's server (two: the bench-style 'data' listener and Writable's
// bound onwrite), where it made two more before.
// (v8.queryObjects: Node 22+.)
;(typeof v8.queryObjects === 'function' ? test : test.skip)(
  'io_uring: an accepted connection makes no more functions than node:net',
  async (t) => {
    const r = await run('functions', { BOROS_BACKEND: '', NODE_NO_WARNINGS: '1' })
    t.is(r.backend, 'io_uring')
    t.true(r.node > 1.5, `node:net's server: ${r.node} functions per connection`)
    t.true(r.boros <= r.node + 0.1, `boros/net: ${r.boros} functions per connection, node:net ${r.node}`)
  }
)

// Start-up memory (docs/net.md, "Start-up memory and the young generation"): loading boros/net
// loads node:cluster, node:dns and node:tty only when first needed, as node:net does; each
// module loaded at start-up stays alive and counts towards growing V8's young generation.
test('loading boros/net loads neither node:cluster, node:dns nor node:tty', async (t) => {
  const dist = fileURLToPath(new URL('../dist/net/index.js', import.meta.url))
  const code = `require(${JSON.stringify(dist)}); console.log(JSON.stringify(['cluster', 'dns', 'tty'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m))))`
  const { code: exit, out, err } = await runChild(['-e', code])
  t.is(exit, 0, err)
  t.deepEqual(JSON.parse(lastLine(out)), [])
})

// Start-up memory (docs/net.md, "Start-up RSS, accounted"): the shared queue's arena (16 MiB
// for hot-path file reads and writes, counted by V8 as external memory) is made at the first
// read or write through it, not when the ring is set up: a boros/net server has none.
test('io_uring: a listening boros/net server has no file arena; the first small file read makes it', async (t) => {
  const dist = (rel) => JSON.stringify(fileURLToPath(new URL(`../dist/${rel}`, import.meta.url)))
  const file = JSON.stringify(fileURLToPath(new URL('../package.json', import.meta.url)))
  const code = `const net = require(${dist('net/index.js')})
const { backend } = require(${dist('index.js')}).runtime()
const server = net.createServer().listen(0, '127.0.0.1', async () => {
  const listening = process.memoryUsage().arrayBuffers
  const fs = require(${dist('fs/index.js')})
  const h = await fs.open(${file})
  const buf = Buffer.alloc(64)
  const { bytesRead } = await h.read(buf, 0, 64, 0)
  await h.close()
  server.close()
  console.log(JSON.stringify({ backend, listening, afterRead: process.memoryUsage().arrayBuffers, bytesRead, text: buf.toString('latin1', 0, bytesRead) }))
})`
  const { code: exit, out, err } = await runChild(['-e', code], { env: { BOROS_BACKEND: '' } })
  t.is(exit, 0, err)
  const r = JSON.parse(lastLine(out))
  t.is(r.backend, 'io_uring')
  const MiB = 1024 * 1024
  t.true(r.listening < 4 * MiB, `${(r.listening / MiB).toFixed(1)} MiB of ArrayBuffers while listening`)
  t.true(r.afterRead >= r.listening + 16 * MiB, `${(r.afterRead / MiB).toFixed(1)} MiB after a small read`)
  t.is(r.text, (await import('node:fs')).readFileSync(JSON.parse(file), 'latin1').slice(0, 64))
})

// Memory per connection (issue 21): the objects an idle accepted boros/net connection holds
// besides node:net's own: the `Connection` keeps its six yes/no states in one integer (176 ->
// 136 B); since the thirteenth round it keeps its owner (the socket, 144 B) and every socket's
// connection shares one events object, where a `SocketEvents` object of 32 B per socket held
// the socket. The `Socket` keeps what only a connect, a reset, a user's read buffer, a read
// address or a chosen keep-alive or type of service needs in objects made on first use, and
// has no own `timeout`, `autoSelectFamilyAttemptedAddresses` or `blockList` until they are
// set, as node:net's (thirteenth round: 280 -> 200 B; node:net's is 264 B and a PropertyArray).
test('io_uring: an idle connection holds a Socket of 200 B and a Connection of 144 B, no events object', async (t) => {
  const r = await run('objects', { BOROS_BACKEND: '' })
  t.is(r.backend, 'io_uring')
  t.true(r.socket !== null && r.socket <= 200, `Socket: ${r.socket} B (node:net's: 264 B and its properties)`)
  t.true(r.connection !== null && r.connection <= 144, `Connection: ${r.connection} B`)
  t.is(r.events, 0, 'SocketEvents objects')
})

// Allocation per accepted connection (issue 21, 10,000 idle connections): the objects made in
// the accept that die at once are what makes the young generation scavenge, grow and promote
// over a burst of connections. node:net's accept copies its options once; boros/net's made an
// options object per connection, copied it twice, and iterated arrays not yet optimized
// (~1.9 KB per accept on Node 24, 3.5 KB on Node 20, against node:net's 1.2 and 3.0). Now a
// server hands every socket the same options object. The slack: what an accepted boros
// socket keeps in JS where node:net's TCP handle keeps it in C++ (its `Connection`, 144 B,
// and its stream's entry in the binding's tables).
test('io_uring: an accept allocates no more than node:net, but the objects the connection keeps', async (t) => {
  const r = await run('accept', { BOROS_BACKEND: '', NODE_NO_WARNINGS: '1' })
  t.is(r.backend, 'io_uring')
  t.true(r.node > 500, `node:net's accept: ${r.node} B per connection (the profile saw it)`)
  t.true(r.boros <= r.node + 250, `boros/net's accept: ${r.boros} B per connection, node:net's ${r.node} B`)
})

// Start-up memory (docs/net.md, "The peak at 1,000 busy 16 KiB connections, accounted again",
// issue 21, tenth round):
// every Node-API function an addon looks up is a search of the node binary's symbol tables
// (.gnu.hash, .dynsym, .dynstr: 7.4 MiB of file pages on Node 20), and each search pages in
// 64 KiB of them. napi-rs's `dyn-symbols` looked up all 157 Node-API functions with dlsym at
// load (+1.44 MiB resident for the life of the process); without it the dynamic linker binds
// the ~70 the addon calls (+1.1 MiB). Its stubs print "Node-API symbol ... has not been
// loaded": a build with them is a build that looks up every name.
const addonFile = (() => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null
  const local = fileURLToPath(new URL('../boros.linux-x64-gnu.node', import.meta.url))
  if (fs.existsSync(local)) return local
  try {
    return createRequire(import.meta.url).resolve('boros-linux-x64-gnu')
  } catch {
    return null
  }
})()
// Skipped where there is no linux-x64-gnu addon (another platform, or not built).
;(addonFile ? test : test.skip)('the addon binds the Node-API functions it calls, not every one napi-rs knows', (t) => {
  const bytes = fs.readFileSync(addonFile)
  t.is(bytes.indexOf('has not been loaded'), -1, `${addonFile} holds napi-rs's dyn-symbols stubs`)
})
