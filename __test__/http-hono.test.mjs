// A Hono app (hono from npm, unmodified) on boros/http's serve({ fetch: app.fetch }). The
// specification is Hono itself: app.request() runs the same app without any server, and what
// comes over the wire from serve() must say the same (status, headers but Date and the
// connection's own, body). On this process's backend, and on the node:http fallback in a child.
// The app and the run: fixtures/http-hono-app.mjs.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { backend } from 'boros/net'
import { run } from './fixtures/http-hono-app.mjs'

const fixture = fileURLToPath(new URL('./fixtures/http-hono-app.mjs', import.meta.url))

test(`Hono on serve() (${backend}) answers as Hono itself`, async (t) => {
  const r = await run()
  t.is(r.backend, backend === 'io_uring' ? 'io_uring' : 'node:http')
  for (const [name, want, got] of r.out) t.deepEqual(got, want, name)
})

test('Hono on serve(), node:http fallback (BOROS_BACKEND=fallback) answers as Hono itself', async (t) => {
  const r = await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, BOROS_BACKEND: 'fallback' } })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`exit ${code}: ${stderr}`))))
  })
  t.is(r.backend, 'node:http')
  for (const [name, want, got] of r.out) t.deepEqual(got, want, name)
})
