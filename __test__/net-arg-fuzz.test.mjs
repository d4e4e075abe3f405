// Seeded argument fuzz of boros/net against node:net (issue 24; fixtures/net-arg-fuzz.mjs):
// what createServer/listen/connect/new Socket and a socket's setters throw at once for odd
// arguments. boros/net's behaviour is the net engineer's: the differences found when this was
// written are listed below by call and option (KNOWN, each with what Node does), so that the
// test fails on any new kind of difference; fixing one means taking it off the list. On the
// fallback backend boros/net is node:net itself: no difference at all.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const seed = Number(process.env.BOROS_FUZZ_SEED ?? Date.now() % 2 ** 31)
const runs = Number(process.env.BOROS_NET_FUZZ_RUNS ?? 1500)
const fixture = fileURLToPath(new URL('./fixtures/net-arg-fuzz.mjs', import.meta.url))

const KNOWN = {
  // Node type-checks these options at once (ERR_INVALID_ARG_TYPE); boros/net accepts them.
  'createServer.highWaterMark': 'Node: must be of type number',
  'createServer.keepAliveInitialDelay': 'Node: must be of type number',
  'connectOptions.keepAliveInitialDelay': 'Node: must be of type number',
  'connectOptions.autoSelectFamily': 'Node: must be of type boolean',
  'connectOptions.autoSelectFamilyAttemptTimeout': 'Node: must be of type number',
  // Node takes a null signal (no signal); boros/net refuses it.
  'connectOptions.signal': 'Node: null accepted',
  'newSocket.signal': 'Node: null (and non-signals) accepted by new Socket',
  // new Socket({ fd }) / onread: boros/net refuses them (ERR_INVALID_ARG_VALUE, documented
  // as unsupported) where Node validates them its own way or takes them.
  'newSocket.fd': 'Node: ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad fd',
  'newSocket.onread': 'Node: ignores a non-object onread',
  // listen(undefined, host) / listen({ port: null }) listen on a random port in Node.
  'listenArgs.': 'Node: listen(undefined|null, host|fn|object) listens',
  'listenOptions.port': 'Node: port null listens on a random port',
  // Node 22+ type-checks a truthy options.host only: connect({ host: NaN }) goes on there.
  'connectOptions.host': 'Node 24: a falsy host (NaN) is not type-checked',
  // The message: Node inspects the value ("Invalid IP address: []").
  'connectOptions.localAddress': "Node: message 'Invalid IP address: []'"
}

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
