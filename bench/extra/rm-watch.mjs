// `rm(dir, { recursive: true })` of a tree that the same process watches (the case of chokidar's
// `unlinkDir`): how long the whole rm takes, and how long after the call the watcher on the
// parent sees the top directory go (an inotify event for its name, then a check that it is gone),
// node:fs/promises' rm against boros/fs' rm, interleaved, medians of the rounds.
//
//   node bench/extra/rm-watch.mjs [--rounds N] [--dirs D] [--files F] [--dir PATH] [--json]
//
// Also the `rm` entry of `npm run bench` (bench/run.mjs runs it with --json).
//
// Not a timed test: figures for docs/files-internals.md. Exits non-zero when a contender could
// not run (boros not built).
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const rounds = Number(opt('--rounds', 9))
const dirs = Number(opt('--dirs', 40))
const files = Number(opt('--files', 25))
const base = path.resolve(opt('--dir', path.join(REPO, '.bench-data')))
fs.mkdirSync(base, { recursive: true })

let boros
try {
  boros = await import(path.join(REPO, 'dist/fs/index.js'))
} catch (e) {
  console.error(`boros is not built (${e.message}): npm run build`)
  process.exit(1)
}
const contenders = { 'node:fs/promises': fsp.rm, 'boros/fs': boros.rm }

function makeTree(top) {
  fs.mkdirSync(top)
  for (let d = 0; d < dirs; d++) {
    const sub = path.join(top, `d${d}`, 'inner')
    fs.mkdirSync(sub, { recursive: true })
    for (let f = 0; f < files; f++) fs.writeFileSync(path.join(top, `d${d}`, `f${f}`), 'x'.repeat(100))
    fs.writeFileSync(path.join(sub, 'leaf'), 'leaf')
  }
}

/** One rm of a fresh tree under a watched parent: { totalMs, goneMs }. */
async function once(rm, label, round) {
  const parent = fs.mkdtempSync(path.join(base, 'rmw-'))
  const name = `tree-${round}`
  const top = path.join(parent, name)
  makeTree(top)
  let goneAt = -1
  const t0 = performance.now()
  const watcher = fs.watch(parent, (_event, file) => {
    // chokidar-like: on an event for the directory, check whether it still exists.
    if (file === name && goneAt < 0 && !fs.existsSync(top)) goneAt = performance.now() - t0
  })
  await new Promise((r) => setImmediate(r))
  const start = performance.now()
  await rm(top, { recursive: true })
  const totalMs = performance.now() - start
  // Give the watcher's event a moment to arrive.
  for (let i = 0; i < 50 && goneAt < 0; i++) await new Promise((r) => setTimeout(r, 2))
  watcher.close()
  fs.rmSync(parent, { recursive: true, force: true })
  if (fs.existsSync(top)) throw new Error(`${label}: the tree is still there`)
  return { totalMs, goneMs: goneAt < 0 ? Number.NaN : goneAt - (start - t0) }
}

const median = (a) => {
  const s = a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y)
  return s.length ? s[(s.length - 1) >> 1] : Number.NaN
}
const res = Object.fromEntries(Object.keys(contenders).map((k) => [k, { total: [], gone: [] }]))
for (let r = 0; r < rounds; r++) {
  const order = Object.keys(contenders)
  if (r % 2) order.reverse()
  for (const k of order) {
    const { totalMs, goneMs } = await once(contenders[k], k, r)
    res[k].total.push(totalMs)
    res[k].gone.push(goneMs)
  }
}
const rows = Object.entries(res).map(([name, v]) => ({
  name,
  totalMs: median(v.total),
  goneMs: median(v.gone),
  missed: v.gone.filter((x) => Number.isNaN(x)).length
}))
if (argv.includes('--json')) {
  // For bench/run.mjs (the `rm` entry of `npm run bench`).
  console.log(JSON.stringify({ node: process.version, rounds, dirs, files, rows }))
} else {
  console.log(
    `rm recursive of ${dirs} dirs x ${files + 1} files (+${dirs} subdirs), ${rounds} rounds, Node ${process.version}, data in ${base}`
  )
  console.log('| rm | total ms (median) | top dir gone after, ms (median) | watcher missed |')
  console.log('|---|---|---|---|')
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.totalMs.toFixed(1)} | ${r.goneMs.toFixed(1)} | ${r.missed}/${rounds} |`)
  }
}
