// Every write route (ring, ring + IOSQE_ASYNC, libuv's threadpool; src-ts/fs/route.ts) writes
// what node:fs/promises writes: positional and current-position writes, holes, writeFile, write
// streams, a FIFO. Each route is forced with BOROS_WRITE_ROUTE in a child process.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/write-routes.mjs', import.meta.url))

function run(env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}: ${err}`))))
  })
}

for (const route of ['default', 'ring', 'async', 'pool']) {
  test(`write route ${route}: the same bytes as node:fs/promises`, async (t) => {
    const r = await run(route === 'default' ? { BOROS_WRITE_ROUTE: '' } : { BOROS_WRITE_ROUTE: route })
    t.deepEqual(r.boros, r.node)
    t.is(r.boros.size, 400_000 + 210_000)
    t.is(r.aborted, 'AbortError')
    t.deepEqual(r.pipes.boros, r.pipes.node)
    t.deepEqual(r.pipes.boros, { written: 32_768, same: true })
    // The four FileHandle writes: one ring op each, none on the threadpool route.
    t.is(r.ringOps, route === 'pool' ? 0 : 4)
  })
}

test('the default route: ring + IOSQE_ASYNC for regular files, the plain ring for a FIFO, a tty-like device and O_DIRECT', async (t) => {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const path = await import('node:path')
  const { writeRoute, WRITE_PUNT, WRITE_RING } = await import('../dist/fs/route.js')
  const { routesOfDescriptorKinds } = await import('./helpers/descriptors.mjs')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-wroute-'))
  try {
    const routes = routesOfDescriptorKinds(dir, writeRoute)
    t.deepEqual(routes, { file: WRITE_PUNT, fifo: WRITE_RING, devnull: WRITE_RING, direct: WRITE_RING })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
