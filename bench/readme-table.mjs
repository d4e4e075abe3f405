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
  if (rows[0]?.net) continue
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
if (lines.length > 2) console.log(lines.join('\n'))

// The network workloads (echo, http): req/s, the ratio to the Node baseline, server CPU per
// request and p99 latency in each cell; the client's CPU shows which side saturated.
const NET = {
  echo: [
    ['node-net', 'node:net'],
    ['boros-ll', 'boros `Connection` (callbacks)'],
    ['boros-conn', 'boros `listen()`/`Conn` (promises)'],
    ['boros-net', 'boros/net `Socket` (stream)'],
    ['native-echo', 'native io_uring echo (Rust)']
  ],
  http: [
    ['http-node', 'node:http on libuv'],
    ['http-boros', 'node:http on boros/net']
  ]
}
for (const [wl, cols] of Object.entries(NET)) {
  const rowsOf = [...groups.values()].filter((rows) => rows[0]?.workload === wl)
  if (rowsOf.length === 0) continue
  const out = [
    `| ${wl} | ${cols.map(([, h]) => h).join(' | ')} | client CPU |`,
    `|---|${cols.map(() => '---').join('|')}|---|`
  ]
  for (const rows of rowsOf) {
    const by = Object.fromEntries(rows.map((r) => [r.contender, r]))
    const base = by[rows[0].base]
    const cells = cols.map(([c]) => {
      const r = by[c]
      if (!(r?.rate > 0)) return r?.skipped === 'n/a' || !r ? '—' : 'skipped'
      const ratio = base?.rate > 0 && c !== rows[0].base ? ` (${(r.rate / base.rate).toFixed(2)}x)` : ''
      const cpu = r.cpuPerOpUs != null ? `, ${r.cpuPerOpUs.toFixed(1)} µs CPU` : ''
      const p99 = r.p99Us != null ? `, p99 ${r.p99Us >= 10_000 ? `${(r.p99Us / 1000).toFixed(0)} ms` : `${(r.p99Us / 1000).toFixed(1)} ms`}` : ''
      return `${fmt(r)}${ratio}${cpu}${p99}`
    })
    const clients = rows.filter((r) => r.clientCpuPct != null).map((r) => r.clientCpuPct)
    const client = clients.length ? `${Math.round(Math.min(...clients))}–${Math.round(Math.max(...clients))}%` : 'n/a'
    out.push(`| ${rows[0].config} | ${cells.join(' | ')} | ${client} |`)
  }
  console.log('')
  console.log(out.join('\n'))
}
