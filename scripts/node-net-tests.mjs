#!/usr/bin/env node
// Node's own node:net tests (test/parallel/test-net-*.js, test/sequential/test-net-*.js of a
// Node source tree) run twice on the same Node: plainly (node:net) and with boros/net in its
// place (scripts/node-net-tests-shim.cjs: the BOROS_REGISTER_NET swap alone, so the tests'
// `require('net')` is boros/net). Prints the pass counts side by side, the tests that pass on
// node:net and fail on boros/net (with the first error line), and the skipped ones with why.
//
//   node scripts/node-net-tests.mjs [--dir <node>/test] [--node <binary>] [--filter <re>] [--jobs N]
//       [--json <out.json>] [--timeout <ms>]
//
// The tests come from a Node source tree of (about) the running Node's version, e.g.
//   git clone --depth 1 --branch v24.11.0 --filter=blob:none --sparse https://github.com/nodejs/node
//   (cd node && git sparse-checkout set test/common test/fixtures test/parallel test/sequential)
// or BOROS_NODE_TESTS=<node>/test, or the folders conformance/run.mjs uses. Exits 1 when the tree is missing (nothing was run), else 0:
// the counts are the result; regressions against a known list are the lead's call.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : def
}
if (args.includes('--help')) {
  console.log(
    fs
      .readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 16)
      .join('\n')
  )
  process.exit(0)
}
const repo = fileURLToPath(new URL('..', import.meta.url))
const conformanceVersion = fs.readFileSync(path.join(repo, 'conformance', 'NODE_VERSION'), 'utf8').trim()
// As conformance/run.mjs looks (its README): --dir, $BOROS_NODE_TESTS, conformance/node-vX/test,
// ../shared/conformance/node-vX/test (X: conformance/NODE_VERSION; those copies need the
// test-net-* files too).
const dir =
  opt('dir', undefined) ??
  [
    process.env.BOROS_NODE_TESTS,
    path.join(repo, 'conformance', `node-v${conformanceVersion}`, 'test'),
    path.join(repo, '..', 'shared', 'conformance', `node-v${conformanceVersion}`, 'test')
  ]
    .filter(Boolean)
    .find((d) => fs.existsSync(path.join(d, 'common', 'index.js')))
const node = opt('node', process.execPath)
const filter = new RegExp(opt('filter', '.'))
const jobs = Number(opt('jobs', Math.max(1, Math.min(4, os.availableParallelism?.() ?? 2))))
const timeout = Number(opt('timeout', 30_000))
const jsonOut = opt('json', undefined)
/** common.PORT for the tests (and +1..+3): not Node's default 12346, which others on a shared machine may hold. */
const COMMON_PORT = 20000 + (process.pid % 20000)
const shim = fileURLToPath(new URL('./node-net-tests-shim.cjs', import.meta.url))

if (!dir || !fs.existsSync(path.join(dir, 'common', 'index.js'))) {
  console.error(`no Node test tree (want <dir>/common/index.js): --dir ${dir ?? '(unset)'}; see --help`)
  process.exit(1)
}

/** Why a test is not run (on either side), or null. */
function skipReason(src) {
  if (/--expose-internals/.test(src)) return "needs --expose-internals (node:net's internals: _handle, internalBinding)"
  if (/internalBinding\(|process\.binding\(/.test(src)) return 'uses internalBinding / process.binding'
  return null
}

const files = []
for (const sub of ['parallel', 'sequential']) {
  const d = path.join(dir, sub)
  if (!fs.existsSync(d)) continue
  for (const f of fs.readdirSync(d).sort()) {
    if (/^test-net-.*\.(js|mjs)$/.test(f) && filter.test(f)) files.push(path.join(sub, f))
  }
}

function runOne(file, withBoros) {
  const src = fs.readFileSync(path.join(dir, file), 'utf8')
  const flags = (src.match(/^\/\/ Flags: (.*)$/m)?.[1] ?? '').split(/\s+/).filter(Boolean)
  const argv = [...flags, ...(withBoros ? ['--require', shim] : []), path.join(dir, file)]
  return new Promise((resolve) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-node-test-'))
    const p = spawn(node, argv, {
      cwd: path.dirname(dir),
      env: {
        ...process.env,
        NODE_COMMON_PORT: String(COMMON_PORT),
        NODE_TEST_DIR: tmp,
        NODE_OPTIONS: '',
        BOROS_NODE_TESTS_REPORT: withBoros ? '1' : ''
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout)
    p.on('close', (code, signal) => {
      clearTimeout(timer)
      fs.rmSync(tmp, { recursive: true, force: true })
      const served = /BOROS-SERVED (\d+)/.exec(out)
      const firstError =
        out
          .split('\n')
          .find((l) => /Error|assert|AssertionError|ERR_|expected|Mismatched|not a function/i.test(l))
          ?.trim()
          .slice(0, 200) ?? (signal ? `killed (${signal}, timeout ${timeout} ms)` : `exit ${code}`)
      resolve({ ok: code === 0, code, signal, served: served ? Number(served[1]) : undefined, firstError })
    })
  })
}

const results = {}
const queue = []
for (const file of files) {
  const reason = skipReason(fs.readFileSync(path.join(dir, file), 'utf8'))
  if (reason) results[file] = { skipped: reason }
  else queue.push(file)
}
// parallel/ tests run --jobs at a time; sequential/ ones (fixed ports: common.PORT) alone, after.
async function runQueue(list, n) {
  let next = 0
  async function worker() {
    while (next < list.length) {
      const file = list[next++]
      const a = await runOne(file, false)
      const b = await runOne(file, true)
      results[file] = { node: a, boros: b }
      process.stderr.write(`${a.ok ? 'ok  ' : 'FAIL'} ${b.ok ? 'ok  ' : 'FAIL'} ${file}\n`)
    }
  }
  await Promise.all(Array.from({ length: n }, worker))
}
await runQueue(
  queue.filter((f) => !f.startsWith('sequential')),
  jobs
)
await runQueue(
  queue.filter((f) => f.startsWith('sequential')),
  1
)

const ran = Object.entries(results).filter(([, r]) => !r.skipped)
const nodePass = ran.filter(([, r]) => r.node.ok).length
const borosPass = ran.filter(([, r]) => r.boros.ok).length
const both = ran.filter(([, r]) => r.node.ok && r.boros.ok).length
const regressions = ran.filter(([, r]) => r.node.ok && !r.boros.ok)
const onlyBoros = ran.filter(([, r]) => !r.node.ok && r.boros.ok)
const unserved = ran.filter(([, r]) => r.boros.ok && r.boros.served === 0)

console.log(`Node ${process.versions.node === undefined ? '' : ''}${node} — ${dir}`)
console.log(`tests: ${files.length} (${ran.length} run, ${files.length - ran.length} skipped)`)
console.log(`pass on node:net: ${nodePass}/${ran.length}; on boros/net: ${borosPass}/${ran.length}; both: ${both}`)
console.log(
  `passing with boros/net but no boros socket was opened (the test used none of its paths): ${unserved.length}`
)
if (regressions.length) {
  console.log(`\npass on node:net, fail on boros/net (${regressions.length}):`)
  for (const [f, r] of regressions) console.log(`  ${f}: ${r.boros.firstError}`)
}
if (onlyBoros.length) {
  console.log(`\nfail on node:net, pass on boros/net (${onlyBoros.length}):`)
  for (const [f, r] of onlyBoros) console.log(`  ${f}: node:net ${r.node.firstError}`)
}
const skipped = Object.entries(results).filter(([, r]) => r.skipped)
if (skipped.length) {
  console.log(`\nskipped (${skipped.length}):`)
  for (const [f, r] of skipped) console.log(`  ${f}: ${r.skipped}`)
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ node, dir, results }, null, 1))
