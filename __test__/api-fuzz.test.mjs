// Seeded argument fuzz of every boros/fs, boros/fs/callback and FileHandle function against
// Node (issue 24; machinery in fixtures/api-fuzz.mjs): odd arguments, dropped and added ones;
// what happened (thrown / rejected / resolved / called back, with the error's name, code and
// message) and the scratch folders afterwards must be the same. A long run is
// `npm run fuzz:api -- --runs N [--seed S]`; the short one here prints its seed, and a failure
// reproduces with `npm run fuzz:api -- --seed S --runs R`. The cases issue 24 named are fixed
// regressions (`--regressions`). Each run is a child process: the fuzz changes directory into
// its scratch folders and records exceptions Node itself throws late (fs.rm with a callback
// that is not a function).
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const seed = Number(process.env.BOROS_FUZZ_SEED ?? Date.now() % 2 ** 31)
const runs = Number(process.env.BOROS_API_FUZZ_RUNS ?? 500)
const fixture = fileURLToPath(new URL('./fixtures/api-fuzz.mjs', import.meta.url))

function fuzz(t, args, backend) {
  const r = spawnSync(process.execPath, [fixture, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...(backend === 'fallback' ? { BOROS_BACKEND: 'fallback' } : {}) },
    timeout: 110_000
  })
  const lines = r.stdout.split('\n').filter(Boolean)
  t.log(lines.filter((l) => !l.startsWith('{')).join('\n'))
  const diffs = lines.filter((l) => l.startsWith('{'))
  t.deepEqual(diffs, [], `differences from Node:\n${diffs.join('\n')}`)
  t.is(r.status, 0, r.stderr)
}

for (const backend of ['io_uring', 'fallback']) {
  test(`the cases issue 24 named agree with Node (${backend})`, (t) => {
    fuzz(t, ['--regressions'], backend)
  })
  test(`seeded argument fuzz agrees with Node (${backend})`, (t) => {
    const n = backend === 'fallback' ? Math.ceil(runs / 2) : runs
    t.log(
      `seed ${seed}, ${n} cases (reproduce: BOROS_BACKEND=${backend} npm run fuzz:api -- --seed ${seed} --runs ${n})`
    )
    fuzz(t, ['--runs', String(n), '--seed', String(seed)], backend)
  })
}
