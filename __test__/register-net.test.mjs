// BOROS_REGISTER_NET=1 with `--import boros/register` (issue 21, "the one flag for sockets"): an
// unmodified application (fixtures/register-net/app.mjs: node:http's client, undici, ioredis,
// pg against real servers) prints the same results as without the flag, and boros/net opened
// its connections (counted by a preloaded reporter, not by the app).
import test from 'ava'
import { fileURLToPath } from 'node:url'
import { lastLine, runChild } from './helpers/child.mjs'
import { services } from './helpers/interop.mjs'
import { notOnRing, unless } from './helpers/skip.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const app = fileURLToPath(new URL('./fixtures/register-net/app.mjs', import.meta.url))
const report = fileURLToPath(new URL('./fixtures/register-net/report.cjs', import.meta.url))

async function run(args, env = {}) {
  const { code, out, err } = await runChild([...args, '--require', report, app], {
    cwd: root,
    env: { NODE_OPTIONS: '', ...env }
  })
  const line = err.split('\n').find((l) => l.startsWith('BOROS-REPORT '))
  if (code !== 0 || !line) throw new Error(`exit ${code}: ${err}`)
  return { results: JSON.parse(lastLine(out)), report: JSON.parse(line.slice(13)) }
}

let plain
test.before(async () => {
  plain = await run([])
})

test('the app without the flag: node:net serves it (baseline)', (t) => {
  if (!services.redis) t.log(`redis part not run: ${services.redisWhy}`)
  if (!services.pg) t.log(`postgres part not run: ${services.pgWhy}`)
  t.false(plain.report.netLoaded)
  t.is(plain.results.httpConcurrent, 20)
})

for (const how of ['--import', '--require']) {
  // The child inherits this process's backend: off the ring boros/net is node:net (the last test).
  unless(notOnRing)(
    `${how} boros/register with BOROS_REGISTER_NET=1: same results, the sockets are boros/net's`,
    async (t) => {
      const r = await run([how, 'boros/register'], { BOROS_REGISTER_NET: '1' })
      t.deepEqual(r.results, plain.results)
      t.true(r.report.netLoaded)
      // node:http's agent, undici, and (when the services run) ioredis and pg: one connection each at least.
      const least = 2 + (services.redis ? 1 : 0) + (services.pg ? 1 : 0)
      t.true(r.report.opened >= least, `boros/net opened ${r.report.opened} connections, expected >= ${least}`)
      t.true(r.report.ops > 0)
    }
  )
}

test('without BOROS_REGISTER_NET, boros/register leaves node:net alone', async (t) => {
  const r = await run(['--import', 'boros/register'])
  t.deepEqual(r.results, plain.results)
  t.false(r.report.netLoaded)
})

test('BOROS_REGISTER_NET=1 on the fallback backend: the same results (boros/net is node:net there)', async (t) => {
  const r = await run(['--import', 'boros/register'], { BOROS_REGISTER_NET: '1', BOROS_BACKEND: 'fallback' })
  t.deepEqual(r.results, plain.results)
  t.is(r.report.opened, 0)
})
