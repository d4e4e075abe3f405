// Start-up cost of the drop-in flag: how much longer a Node process takes with
// `--import boros/register` (or `--require`) than without, when it never touches a file
// (`-e 0`), and when its first act is one fs call (which loads boros, the addon and the ring).
//
//   node bench/startup.mjs [--node /path/to/node] [--runs N]
//
// `npm run bench -- --only startup` runs the same and keeps the rows in the results file.
// Every variant is a fresh process, the variants interleaved run by run (a neighbour's burst
// on this shared machine then hits all of them alike); the table gives each one's median wall
// time and its mean CPU time (user + system, from this process' children times). A variant that
// fails to run makes the suite exit non-zero.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FIRST_CALL = "require('fs').stat(__filename, () => {})"

/** The variants, in table order; `base` is the variant each one is compared with. */
export const VARIANTS = [
  { key: 'plain', label: 'node -e 0', args: ['-e', '0'] },
  {
    key: 'import-empty',
    label: "node --import 'data:text/javascript,' -e 0 (Node's own cost of an --import)",
    args: ['--import', 'data:text/javascript,', '-e', '0'],
    base: 'plain'
  },
  {
    key: 'import-file',
    label: "node --import ./bench/empty-import.mjs -e 0 (Node's own cost of an --import of a module file)",
    args: ['--import', './bench/empty-import.mjs', '-e', '0'],
    base: 'plain'
  },
  {
    key: 'import-pkg',
    label:
      "node --import empty-pkg/register -e 0 (Node's own cost of an --import of a package name: an empty file behind boros' exports)",
    args: ['--import', 'empty-pkg/register', '-e', '0'],
    base: 'plain',
    pkg: true
  },
  {
    key: 'import',
    label: 'node --import boros/register -e 0',
    args: ['--import', 'boros/register', '-e', '0'],
    base: 'plain'
  },
  {
    key: 'require',
    label: 'node --require boros/register -e 0',
    args: ['--require', 'boros/register', '-e', '0'],
    base: 'plain'
  },
  {
    key: 'require-pkg',
    label: "node --require empty-pkg/register -e 0 (Node's own cost of a --require of a package name)",
    args: ['--require', 'empty-pkg/register', '-e', '0'],
    base: 'plain',
    pkg: true
  },
  { key: 'plain-stat', label: 'node -e "fs.stat(...)"', args: ['-e', FIRST_CALL] },
  {
    key: 'import-stat',
    label: 'node --import boros/register -e "fs.stat(...)" (loads boros at the call)',
    args: ['--import', 'boros/register', '-e', FIRST_CALL],
    base: 'plain-stat'
  }
]

/**
 * A directory whose node_modules holds `empty-pkg`: boros' package.json `exports` (the same
 * shape, the same conditions) pointing at empty files, so that `--import empty-pkg/register`
 * costs what Node charges for resolving and loading `boros/register` minus boros' own code.
 * Made afresh under the system's temporary directory.
 */
function emptyPackageDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-startup-'))
  const pkg = path.join(dir, 'node_modules', 'empty-pkg')
  const ours = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))
  const files = new Set()
  const walk = (v) => {
    if (typeof v === 'string') files.add(v)
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x)
  }
  walk(ours.exports)
  for (const f of files) {
    if (f === './package.json') continue
    fs.mkdirSync(path.join(pkg, path.dirname(f)), { recursive: true })
    fs.writeFileSync(path.join(pkg, f), '')
  }
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ ...ours, name: 'empty-pkg' }, null, 2))
  fs.writeFileSync(path.join(dir, 'package.json'), '{}\n')
  return dir
}

/** Children CPU time of this process so far, in ms (clock ticks of /proc/self/stat). */
function childrenCpuMs() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8')
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state): cutime is field 16, cstime 17.
  return (Number(fields[13]) + Number(fields[14])) * 10
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y)
  return s[(s.length - 1) >> 1]
}

/** Runs every variant `runs` times, interleaved; returns one row per variant. */
export function runStartup({ nodeBin = process.execPath, runs = 41, log = console.error } = {}) {
  const wall = VARIANTS.map(() => [])
  const cpu = VARIANTS.map(() => 0)
  const env = { ...process.env, NODE_OPTIONS: '' }
  delete env.BOROS_REGISTER_FS_CALLBACKS
  const pkgDir = emptyPackageDir()
  try {
    return timeVariants({ nodeBin, runs, log, wall, cpu, env, pkgDir })
  } finally {
    fs.rmSync(pkgDir, { recursive: true, force: true })
  }
}

function timeVariants({ nodeBin, runs, log, wall, cpu, env, pkgDir }) {
  for (let i = 0; i < runs; i++) {
    // Alternate the order run by run.
    const order = VARIANTS.map((_, j) => j)
    if (i % 2 === 1) order.reverse()
    for (const j of order) {
      const c0 = childrenCpuMs()
      const t0 = process.hrtime.bigint()
      const r = spawnSync(nodeBin, VARIANTS[j].args, {
        cwd: VARIANTS[j].pkg ? pkgDir : REPO,
        env,
        stdio: ['ignore', 'ignore', 'pipe']
      })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.status !== 0) {
        throw new Error(`startup: ${VARIANTS[j].label} failed (exit ${r.status}): ${r.stderr}`)
      }
      wall[j].push(ms)
      cpu[j] += childrenCpuMs() - c0
    }
  }
  const rows = VARIANTS.map((v, j) => ({
    key: v.key,
    label: v.label,
    base: v.base ?? null,
    runs,
    medianMs: median(wall[j]),
    minMs: Math.min(...wall[j]),
    cpuMs: cpu[j] / runs
  }))
  for (const row of rows) {
    const base = rows.find((b) => b.key === row.base)
    if (base) {
      row.addedMs = row.medianMs - base.medianMs
      row.addedCpuMs = row.cpuMs - base.cpuMs
    }
  }
  log(formatStartup(rows, nodeBin))
  return rows
}

/** The table (markdown), figures side by side. */
export function formatStartup(rows, nodeBin = process.execPath) {
  const version = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim()
  const lines = [
    `\nstartup (Node ${version}; ${rows[0].runs} runs of each, interleaved; wall: median, CPU: mean user+sys)`,
    '| process | wall ms | added | CPU ms | added CPU |',
    '|---|---|---|---|---|'
  ]
  for (const r of rows) {
    const add = r.addedMs == null ? '—' : `${r.addedMs >= 0 ? '+' : ''}${r.addedMs.toFixed(1)}`
    const addCpu = r.addedCpuMs == null ? '—' : `${r.addedCpuMs >= 0 ? '+' : ''}${r.addedCpuMs.toFixed(1)}`
    lines.push(`| ${r.label} | ${r.medianMs.toFixed(1)} | ${add} | ${r.cpuMs.toFixed(1)} | ${addCpu} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const argv = process.argv.slice(2)
  const opt = (name, dflt) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : dflt
  }
  try {
    runStartup({
      nodeBin: path.resolve(opt('--node', process.execPath)),
      runs: Number(opt('--runs', 41)),
      log: console.log
    })
  } catch (e) {
    console.error(e.message)
    process.exit(1)
  }
}
