// boros/net cases that need a process of their own: the fallback ConnListener's close with
// connections open (issue 24 item 7), and cluster workers sharing a port (issue 21 item 12).

import { spawn } from 'node:child_process'
import * as nodeNet from 'node:net'
import { fileURLToPath } from 'node:url'
import test from 'ava'

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

/** The adopt-fd child with its fd 3 a connected Unix stream socket (stdio 'pipe'). */
function adoptFd(which, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, 'adopt-fd', which], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    let echoed = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.stdio[3].on('data', (d) => (echoed += d))
    p.stdio[3].on('error', () => {})
    p.stdio[3].write('hello ')
    setTimeout(() => p.stdio[3].end('boros'), 100)
    const timer = setTimeout(() => p.kill('SIGKILL'), 15000)
    p.on('close', (code) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').at(-1)
      if (!line) reject(new Error(`exit ${code}: ${err}`))
      else resolve({ ...JSON.parse(line), echoed })
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

  test(`${backend}: new Socket({ fd }) adopts a connected socket, refuses bad descriptors as node:net`, async (t) => {
    const expected = await adoptFd('node', env)
    const actual = await adoptFd('boros', env)
    t.is(actual.boros, backend === 'io_uring', 'served by boros/net on io_uring')
    t.is(actual.echoed, 'HELLO BOROS')
    t.deepEqual({ ...actual, boros: undefined }, { ...expected, boros: undefined })
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
