// Every write route (ring, ring + IOSQE_ASYNC, libuv's threadpool; src-ts/fs/descriptor-route.ts) writes
// what node:fs/promises writes: positional and current-position writes, holes, writeFile, write
// streams, a FIFO. Each route is forced with BOROS_WRITE_ROUTE in a child process.
import test from 'ava'
import { fileURLToPath } from 'node:url'
import { runChild } from './helpers/child.mjs'
import { notOnRing, unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/write-routes.mjs', import.meta.url))

/** The fixture's report, from a child on the ring whatever this run's BOROS_BACKEND says. */
async function run(env) {
  const { code, out, err } = await runChild([fixture], { env: { BOROS_BACKEND: '', ...env } })
  if (code !== 0) throw new Error(`exit ${code}: ${err}`)
  return JSON.parse(out)
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

// In this process: learnRoute asks the ring, so off the ring it says skipped with the reason.
unless(notOnRing)(
  'the default route: ring + IOSQE_ASYNC for regular files, the plain ring for a FIFO, a tty-like device and O_DIRECT',
  async (t) => {
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const { writeRoute, WRITE_PUNT, WRITE_RING } = await import('../dist/fs/descriptor-route.js')
    const { routesOfDescriptorKinds } = await import('./helpers/descriptors.mjs')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-wroute-'))
    try {
      const routes = routesOfDescriptorKinds(dir, writeRoute)
      t.deepEqual(routes, { file: WRITE_PUNT, fifo: WRITE_RING, devnull: WRITE_RING, direct: WRITE_RING })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
)
