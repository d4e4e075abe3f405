// A response 'finish' listener that throws (an uncaught exception, caught by the child's
// process handler): every pipelined response still gets its 'finish' and 'close', on node:http
// and on boros/http's createServer alike (the engine emits them one tick per batch).
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

test('a throwing finish listener costs no other response (and not its own) its events', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/http-finish-throws.mjs', import.meta.url))
  const out = await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
    let s = ''
    p.stdout.on('data', (d) => (s += d))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`exit ${code}: ${s}`))))
  })
  const { node, boros } = JSON.parse(out)
  t.deepEqual(node.caught, ['thrown at /2'])
  t.is(node.log.length, 6)
  t.deepEqual(boros, node)
})
