// Seeded argument fuzz of boros/net against node:net (issue 24; fixtures/net-arg-fuzz.mjs):
// what createServer/listen/connect/new Socket and a socket's setters throw at once for odd
// arguments. boros/net's behaviour is the net engineer's: the differences found when this was
// written are listed below by call and option (KNOWN, each with what Node does), so that the
// test fails on any new kind of difference; fixing one means taking it off the list. On the
// fallback backend boros/net is node:net itself: no difference at all.

import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'ava'

const seed = Number(process.env.BOROS_FUZZ_SEED ?? Date.now() % 2 ** 31)
const runs = Number(process.env.BOROS_NET_FUZZ_RUNS ?? 1500)
const fixture = fileURLToPath(new URL('./fixtures/net-arg-fuzz.mjs', import.meta.url))

// Every kind found when this was written (createServer/connect type checks, a null or falsy
// signal, listen(undefined|null, ...), new Socket({ fd }) / onread, a falsy host on Node 22+,
// the localAddress message, setKeepAlive's options form on Node 24) is fixed: none is expected.
const KNOWN = {}

function runFuzz(backend) {
  const r = spawnSync(process.execPath, [fixture, '--runs', String(runs), '--seed', String(seed)], {
    encoding: 'utf8',
    env: { ...process.env, ...(backend === 'fallback' ? { BOROS_BACKEND: 'fallback' } : {}) },
    timeout: 100_000
  })
  const lines = r.stdout.split('\n').filter(Boolean)
  return {
    r,
    diffs: lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)),
    summary: lines.filter((l) => !l.startsWith('{'))
  }
}

test('boros/net argument errors: no difference from node:net beyond the known ones (io_uring)', (t) => {
  t.log(
    `seed ${seed}, ${runs} cases (reproduce: node __test__/fixtures/net-arg-fuzz.mjs --seed ${seed} --runs ${runs})`
  )
  const { r, diffs, summary } = runFuzz('io_uring')
  t.log(summary.join('\n'))
  t.is(r.signal, null, r.stderr)
  const seen = new Set(diffs.map((d) => `${d.case.kind}.${d.case.field ?? ''}`))
  t.log(`known differences seen: ${[...seen].filter((k) => k in KNOWN).join(', ') || 'none'}`)
  const fresh = diffs.filter((d) => !(`${d.case.kind}.${d.case.field ?? ''}` in KNOWN))
  t.deepEqual(
    fresh.map((d) => JSON.stringify(d)),
    []
  )
})

test("boros/net argument errors are node:net's on the fallback backend", (t) => {
  const { r, diffs, summary } = runFuzz('fallback')
  t.log(summary.join('\n'))
  t.deepEqual(
    diffs.map((d) => JSON.stringify(d)),
    []
  )
  t.is(r.status, 0, r.stderr)
})
