// boros/net cases that need a process of their own: the fallback ConnListener's close with
// connections open (issue 24 item 7), and cluster workers sharing a port (issue 21 item 12).
import test from 'ava'
import { spawn } from 'node:child_process'
import * as nodeNet from 'node:net'
import { fileURLToPath } from 'node:url'

const child = fileURLToPath(new URL('./fixtures/net-compat-child.mjs', import.meta.url))

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, ...args], { env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 15000)
    p.on('close', (code) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').at(-1)
      if (!line) reject(new Error(`exit ${code}: ${err}`))
      else resolve(JSON.parse(line))
    })
  })
}

function freePort() {
  return new Promise((resolve) => {
    const s = nodeNet.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

for (const backend of ['io_uring', 'fallback']) {
  const env = backend === 'fallback' ? { BOROS_BACKEND: 'fallback' } : {}
  const name = backend === 'fallback' ? 'node:net' : 'io_uring'

  test(`${backend}: ConnListener.close() with an accepted connection open resolves`, async (t) => {
    t.deepEqual(await run(['listener-close'], env), { backend: name, closed: 'resolved' })
  })

  test(`${backend}: two cluster workers listen on one port with boros/net servers`, async (t) => {
    const r = await run(['cluster', String(await freePort())], env)
    t.is(r.backend, name)
    if (backend === 'fallback') {
      // node:net's own servers: cluster's shared handle.
      t.deepEqual(r.results, ['listening', 'listening'])
    } else t.deepEqual(r.results, ['listening', 'listening'], 'reusePort by default in workers')
  })
}
