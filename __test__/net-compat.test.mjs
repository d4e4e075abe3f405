// boros/net cases that need a process of their own: the fallback ConnListener's close with
// connections open (issue 24 item 7), and cluster workers sharing a port (issue 21 item 12).

import * as nodeNet from 'node:net'
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { lastLine, runChild } from './helpers/child.mjs'

const child = fileURLToPath(new URL('./fixtures/net-compat-child.mjs', import.meta.url))

async function run(args, env = {}) {
  const { code, out, err } = await runChild([child, ...args], { env, timeoutMs: 15000 })
  const line = lastLine(out)
  if (!line) throw new Error(`exit ${code}: ${err}`)
  return JSON.parse(line)
}

/** The adopt-fd child with its fd 3 a connected Unix stream socket (stdio 'pipe'). */
async function adoptFd(which, env) {
  let echoed = ''
  const { code, out, err } = await runChild([child, 'adopt-fd', which], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeoutMs: 15000,
    setup: (p) => {
      p.stdio[3].on('data', (d) => (echoed += d))
      p.stdio[3].on('error', () => {})
      p.stdio[3].write('hello ')
      setTimeout(() => p.stdio[3].end('boros'), 100)
    }
  })
  const line = lastLine(out)
  if (!line) throw new Error(`exit ${code}: ${err}`)
  return { ...JSON.parse(line), echoed }
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
  // Set for each variant: the io_uring one must not inherit a BOROS_BACKEND=fallback of the run.
  const env = { BOROS_BACKEND: backend === 'fallback' ? 'fallback' : '' }
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
