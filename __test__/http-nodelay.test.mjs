// The trap docs/net.md used to teach: node:http fed boros/net sockets
// (`net.createServer((s) => httpServer.emit('connection', s))`). Measured by count in a bounded
// window, not by a timing threshold: 500 sequential keep-alive round trips on one connection
// must finish within 5 s. A response that waits for the client's delayed ACK costs ~40 ms, so a
// stall needs 20 s for them (4x the window); a healthy run needs 0.1–0.4 s here, and the 5 s
// leave room for a machine loaded by other test files (2 s did not, once in a while).
// Each scenario runs in its own process (__test__/fixtures/http-nodelay.mjs), on both backends.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { backend } from 'boros/net'
import { unless } from './helpers/skip.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixture = fileURLToPath(new URL('./fixtures/http-nodelay.mjs', import.meta.url))

function run(spec, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture, JSON.stringify(spec)], { cwd: root, env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000)
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`fixture exit ${code}: ${err.trim().slice(-500)}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

// The io_uring scenarios need the ring here; where it is refused they say skipped, not passed.
const ring = unless(backend === 'io_uring' ? undefined : `boros/net is on the ${backend} backend here`)
const WANT = 500
const WINDOW = 5000

ring('io_uring: head + Buffer body (one writev) leave in one segment: no delayed-ACK stall', async (t) => {
  // The http.Server's noDelay is turned off, so only the single sendmsg per writev keeps this fast.
  const r = await run({ response: 'buffer', httpNoDelay: false, want: WANT, windowMs: WINDOW })
  t.is(r.backend, 'io_uring')
  t.is(r.done, WANT, `${r.done} round trips in ${r.ms} ms`)
})

ring('io_uring: a socket handed to an http.Server gets its noDelay (default true)', async (t) => {
  // Head + first chunk, then the last chunk a turn later: two sends. Without TCP_NODELAY the
  // second waits for the ACK of the first (Nagle + the client's delayed ACK).
  const r = await run({ response: 'split', want: WANT, windowMs: WINDOW })
  t.is(r.backend, 'io_uring')
  t.is(r.done, WANT, `${r.done} round trips in ${r.ms} ms`)
})

ring(
  'io_uring: http.createServer({ noDelay: false }) is honoured for handed-over sockets, as node:http does',
  async (t) => {
    const r = await run({ response: 'split', httpNoDelay: false, want: WANT, windowMs: WINDOW })
    t.is(r.backend, 'io_uring')
    // Nagle on: every split response waits for the delayed ACK, as on node:http's own sockets.
    t.true(r.done < WANT / 2, `${r.done} round trips in ${r.ms} ms`)
  }
)

test('fallback (node:net): head + Buffer body, no stall', async (t) => {
  const r = await run({ response: 'buffer', want: WANT, windowMs: WINDOW }, { BOROS_BACKEND: 'fallback' })
  t.is(r.backend, 'node:net')
  t.is(r.done, WANT, `${r.done} round trips in ${r.ms} ms`)
})
