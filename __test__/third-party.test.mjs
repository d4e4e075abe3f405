// A real third-party package's own test suite (readdirp 5.1.1, which uses node:fs/promises; its
// test file is not in this repository: third-party/readdirp/README.md) run on plain Node and under
// `--import boros/register`: both runs must pass the same tests. scripts/third-party-tests.sh does
// the work (installing the package from npm into a cache folder the first time).
// Whether it can run is decided at load time, and a run that cannot happen is reported as
// skipped with the reason (never as passed): BOROS_SKIP_THIRD_PARTY=1 (no npm registry), the
// test file absent, or the script's setup failing (exit 2: npm registry unreachable).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { unless } from './helpers/skip.mjs'

const script = fileURLToPath(new URL('../scripts/third-party-tests.sh', import.meta.url))
const testFile =
  process.env.BOROS_READDIRP_TEST ??
  fileURLToPath(new URL('../third-party/readdirp/test/index.test.js', import.meta.url))
const title = "readdirp's own tests pass the same with and without --import boros/register"

let skip
let r
if (process.env.BOROS_SKIP_THIRD_PARTY === '1') skip = 'BOROS_SKIP_THIRD_PARTY=1'
else if (!existsSync(testFile)) {
  skip = `readdirp's test file is not at ${testFile} (the npm tarball does not ship it; see third-party/readdirp/README.md)`
} else {
  r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 110_000 })
  if (r.status === 2)
    skip = `setup failed (npm registry unreachable?): ${`${r.stdout}\n${r.stderr}`.trim().split('\n').at(-1)}`
}

unless(skip)(title, (t) => {
  const out = `${r.stdout}\n${r.stderr}`
  t.false(out.includes('NOT RUN'), out)
  t.log(
    out
      .split('\n')
      .filter((l) => l.startsWith('==') || l.startsWith('third-party'))
      .join('\n')
  )
  t.is(r.status, 0, out)
  const counts = [...out.matchAll(/== (plain|boros): exit (\d+), (\d+) passed, (\d+) failed/g)].map((m) => m.slice(1))
  t.is(counts.length, 2, out)
  t.deepEqual(counts[0].slice(1), counts[1].slice(1))
  t.true(Number(counts[0][2]) >= 29, out)
})
