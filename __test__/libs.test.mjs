// The callback-API libraries that boros/register now serves by default — graceful-fs, fs-extra and
// write-file-atomic, the real packages from npm (devDependencies; their npm packages ship no test
// suites, so fixtures/libs-scenarios.cjs exercises what their suites do) — run plain and under
// `--import boros/register`, on both backends: the records must be equal, and on io_uring boros
// must have served their operations (stats().opsSubmitted per library). graceful-fs' EMFILE queue
// runs with `ulimit -n 100`: the limit is really hit, and every call is retried and finishes.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { notOnRing, unless } from './helpers/skip.mjs'

// Off the ring the children inherit the fallback: the io_uring runs are not made, their checks
// are skipped, and the plain and fallback runs are compared as on the ring.
const onRing = notOnRing === undefined

const root = fileURLToPath(new URL('..', import.meta.url))
const fixture = fileURLToPath(new URL('./fixtures/libs-scenarios.cjs', import.meta.url))

function run(flags, env = {}, extra = [], nofile = 0) {
  const cmd = [process.execPath, ...flags, fixture, ...extra]
  const [file, args] = nofile
    ? ['bash', ['-c', `ulimit -n ${nofile} && exec "$@"`, 'bash', ...cmd]]
    : [cmd[0], cmd.slice(1)]
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}: ${err}`))))
  })
}

const REGISTER = ['--import', 'boros/register']
// Started at load, one after another (the machine has 2 cores): plain, then boros on each backend.
const runs = (async () => {
  const plain = await run([])
  const ring = onRing ? await run(REGISTER) : undefined
  const fallback = await run(REGISTER, { BOROS_BACKEND: 'fallback' })
  const emPlain = await run([], {}, ['--emfile'], 100)
  const emRing = onRing ? await run(REGISTER, {}, ['--emfile'], 100) : undefined
  const emFallback = await run(REGISTER, { BOROS_BACKEND: 'fallback' }, ['--emfile'], 100)
  return { plain, ring, fallback, emPlain, emRing, emFallback }
})()
runs.catch(() => undefined)

for (const lib of ['graceful-fs', 'fs-extra', 'write-file-atomic']) {
  unless(notOnRing)(
    `${lib}: the same results plain and under boros/register, and boros served its calls (io_uring)`,
    async (t) => {
      const { plain, ring } = await runs
      t.false(plain.register.active)
      t.is(ring.register.backend, 'io_uring')
      t.deepEqual(ring.record[lib], plain.record[lib])
      t.true(ring.ops[lib] > 0, `ring ops for ${lib}: ${ring.ops[lib]}`)
    }
  )
  test(`${lib}: the same results under boros/register on the fallback backend`, async (t) => {
    const { plain, fallback } = await runs
    t.is(fallback.register.backend, 'fallback')
    t.deepEqual(fallback.record[lib], plain.record[lib])
  })
}

test(`graceful-fs' EMFILE queue with ulimit -n 100: filled, drained, every file right (plain and ${onRing ? 'both backends' : 'the fallback'})`, async (t) => {
  const { emPlain, emRing, emFallback } = await runs
  const r = emPlain.record['graceful-fs-emfile']
  t.like(r, { allRead: true, readsOk: true, queued: true, queueDrained: true, files: 600 })
  t.deepEqual(r.failures, [])
  t.deepEqual(r.writes, [])
  t.deepEqual(emFallback.record, emPlain.record)
  t.is(emFallback.register.backend, 'fallback')
  if (onRing) {
    t.deepEqual(emRing.record, emPlain.record)
    t.is(emRing.register.backend, 'io_uring')
    t.true(emRing.ops['graceful-fs-emfile'] > 0)
  }
})
