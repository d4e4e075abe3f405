#!/usr/bin/env node
// Prints the README's performance table (Markdown) from a suite result file.
//
//   node bench/readme-table.mjs [bench/results/latest.json]
//
// One row per (workload, config): boros' rate, then each contender's rate with boros'
// ratio to fs/promises in brackets, and boros / native for the native ceiling.
import fs from 'node:fs'

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url).pathname
const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
const COLS = [
  ['boros-pool', 'boros, `BufferPool` buffers'],
  ['fsp', 'fs/promises'],
  ['cb', 'fs callbacks'],
  ['sync', 'fs sync'],
  ['cb-uring', 'fs callbacks + `UV_USE_IO_URING=1`'],
  ['native', 'native io_uring (Rust, no JS)']
]
const NAMES = {
  randread: (g) => `random 4 KiB reads, ${g.qd} in flight`,
  readfiles: () => '`readFile`, 10,000 files of 0.5–16 KiB',
  seqread: () => 'sequential 128 KiB reads',
  seqwrite: () => 'sequential 128 KiB writes + fsync',
  statstorm: () => '`stat` storm, 64 in flight'
}

const fmt = (r) => {
  if (r.unit === 'MB/s') return Math.round(r.rate).toLocaleString('en-US')
  return r.rate >= 100_000 ? `${Math.round(r.rate / 1000)}k` : `${(r.rate / 1000).toFixed(1)}k`
}
const ratio = (x) => (x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`)

const groups = new Map()
for (const r of doc.results) {
  const k = `${r.workload}\u0000${r.config}`
  if (!groups.has(k)) groups.set(k, [])
  groups.get(k).push(r)
}
const lines = [
  `| workload | boros | ${COLS.map(([, h]) => h).join(' | ')} |`,
  `|---|---|${COLS.map(() => '---').join('|')}|`
]
for (const rows of groups.values()) {
  const by = Object.fromEntries(rows.map((r) => [r.contender, r]))
  const b = by.boros
  if (!(b?.rate > 0)) continue
  const unit = b.unit === 'MB/s' ? ' MB/s' : b.workload === 'readfiles' ? ' files/s' : '/s'
  const cells = COLS.map(([c]) => {
    const r = by[c]
    if (!(r?.rate > 0)) return '—'
    if (c === 'fsp') return `${fmt(r)} (boros ${ratio(b.rate / r.rate)})`
    if (c === 'native')
      return `${fmt(r)} (boros ${ratio(b.rate / r.rate)}${by['boros-pool']?.rate > 0 ? `, pool ${ratio(by['boros-pool'].rate / r.rate)}` : ''})`
    return fmt(r)
  })
  lines.push(`| ${NAMES[b.workload]?.(b) ?? `${b.workload} ${b.config}`} | ${fmt(b)}${unit} | ${cells.join(' | ')} |`)
}
const m = doc.meta
console.log(
  `<!-- ${m.date}: Node ${m.node.version}, Linux ${m.machine.kernel}, ${m.machine.cpu} x${m.machine.cores}, ${m.settings?.rounds ?? 1} round(s), median -->`
)
console.log(lines.join('\n'))
