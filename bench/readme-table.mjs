#!/usr/bin/env node
// The README's performance tables and charts, generated from suite result files, so that no
// figure in the README is typed by hand.
//
//   node bench/readme-table.mjs [FILE...]            print each file's table (Markdown)
//   node bench/readme-table.mjs --write FILE...      for each file (Node NN from its meta):
//        write docs/bench/nodeNN.svg (report.mjs' chart) and replace the README block between
//        <!-- bench:nodeNN:begin --> and <!-- bench:nodeNN:end --> (run, machine, chart, table);
//        an echo-only or http-only run writes docs/bench/KIND-nodeNN.svg and the block
//        <!-- bench:KIND-nodeNN:begin --> ... <!-- bench:KIND-nodeNN:end --> (KIND: echo, http)
//
// FILE defaults to bench/results/latest.json. One row per (workload, config): boros' rate,
// then each contender's rate, with boros' ratio to fs/promises and to the native ceiling.
// The network workloads (echo, http) get their own tables (netTables): req/s, the ratio to the
// Node baseline, server CPU per request and p99 in each cell, and the load generator's CPU.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderSvg } from './report.mjs'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const COLS = [
  ['boros-cb', 'boros/fs/callback'],
  ['boros-pool', 'boros, `BufferPool` buffers'],
  ['fsp', 'fs/promises'],
  ['cb', 'fs callbacks'],
  ['sync', 'fs sync'],
  ['cb-uring', 'fs callbacks + `UV_USE_IO_URING=1`'],
  ['native', 'native io_uring (Rust, no JS)']
]
const NAMES = {
  randread: (g) => `random 4 KiB reads, ${g.qd} in flight`,
  readfiles: () => '`readFile`, small files of 0.5–16 KiB',
  seqread: () => 'sequential 128 KiB reads',
  seqwrite: () => 'sequential 128 KiB writes over a cached file + fsync',
  statstorm: () => '`stat` storm, 64 in flight'
}

const fmt = (r) => {
  if (r.unit === 'MB/s') return Math.round(r.rate).toLocaleString('en-US')
  return r.rate >= 100_000 ? `${Math.round(r.rate / 1000)}k` : `${(r.rate / 1000).toFixed(1)}k`
}
const ratio = (x) => (x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`)

/** The Markdown table of one results document (columns with no figure are left out). */
export function table(doc) {
  const groups = new Map()
  for (const r of doc.results) {
    const k = `${r.workload}\u0000${r.config}`
    if (!groups.has(k)) groups.set(k, [])
    groups.get(k).push(r)
  }
  const cols = COLS.filter(([c]) => doc.results.some((r) => r.contender === c && r.rate > 0))
  const lines = [
    `| workload | boros | ${cols.map(([, h]) => h).join(' | ')} |`,
    `|---|---|${cols.map(() => '---').join('|')}|`
  ]
  for (const rows of groups.values()) {
    const by = Object.fromEntries(rows.map((r) => [r.contender, r]))
    const b = by.boros
    if (!(b?.rate > 0)) continue
    const unit = b.unit === 'MB/s' ? ' MB/s' : b.workload === 'readfiles' ? ' files/s' : '/s'
    const cells = cols.map(([c]) => {
      const r = by[c]
      if (!(r?.rate > 0)) return '—'
      if (c === 'fsp') return `${fmt(r)} (boros ${ratio(b.rate / r.rate)})`
      if (c === 'native') {
        const also = ['boros-cb', 'boros-pool']
          .filter((x) => by[x]?.rate > 0)
          .map((x) => `, ${x === 'boros-cb' ? 'callbacks' : 'pool'} ${ratio(by[x].rate / r.rate)}`)
          .join('')
        return `${fmt(r)} (boros ${ratio(b.rate / r.rate)}${also})`
      }
      return fmt(r)
    })
    lines.push(`| ${NAMES[b.workload]?.(b) ?? `${b.workload} ${b.config}`} | ${fmt(b)}${unit} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** CPU per op and io_uring_enter calls per op of the random reads at 64 in flight, from the run. */
export function cpuLine(doc) {
  const rows = doc.results.filter((r) => r.workload === 'randread' && r.qd === 64 && r.rate > 0)
  const by = Object.fromEntries(rows.map((r) => [r.contender, r]))
  const names = {
    boros: 'boros',
    'boros-cb': 'boros/fs/callback',
    'boros-pool': 'boros on pool buffers',
    native: 'native',
    cb: 'fs callbacks',
    fsp: 'fs/promises'
  }
  const cpu = Object.keys(names)
    .filter((c) => by[c]?.cpuPerOpUs != null)
    .map((c) => `${names[c]} ${by[c].cpuPerOpUs.toFixed(2)} µs`)
  if (cpu.length === 0) return ''
  const enters = ['boros', 'native']
    .filter((c) => by[c]?.entersPerOp != null)
    .map((c) => `${names[c]} ${by[c].entersPerOp.toFixed(3)}`)
  return `CPU per 4 KiB read at 64 in flight (all threads): ${cpu.join(', ')}.${enters.length ? ` io_uring_enter calls per read: ${enters.join(', ')}.` : ''}`
}

/** The rm entry of a run (bench/extra/rm-watch.mjs --json) as a Markdown table. */
export function formatRm(rm) {
  const lines = [
    `\nrm recursive of a watched tree (${rm.dirs} dirs x ${rm.files + 1} files, +${rm.dirs} subdirs; ${rm.node}; median of ${rm.rounds} rounds, interleaved)`,
    '| rm | total ms | top directory gone after, ms | watcher missed it |',
    '|---|---|---|---|'
  ]
  for (const r of rm.rows) {
    lines.push(`| ${r.name} | ${r.totalMs.toFixed(1)} | ${r.goneMs.toFixed(1)} | ${r.missed}/${rm.rounds} |`)
  }
  return lines.join('\n')
}

/** Start-up, rm and the write routes of a run, one line each (those the run has). */
export function extraLines(doc) {
  const out = []
  const st = doc.startup
  if (st) {
    const by = Object.fromEntries(st.map((r) => [r.key, r]))
    // What Node charges for the same --import without boros' code (runs before the package row: the module file).
    const floor = by['import-pkg'] ?? by['import-file']
    const cpu = (k) =>
      by[k]?.addedCpuMs == null ? '?' : `${by[k].addedCpuMs >= 0 ? '+' : ''}${by[k].addedCpuMs.toFixed(1)} ms`
    out.push(
      `Start-up (CPU per process, user + system, ${st[0].runs} runs interleaved): \`node -e 0\` ${by.plain.cpuMs.toFixed(1)} ms; ` +
        `\`--import boros/register\` ${cpu('import')}, \`--require\` ${cpu('require')}; Node's own cost of an \`--import\`: ` +
        `${cpu('import-empty')} for a \`data:\` URL, ${cpu('import-file')} for an empty module file` +
        (by['import-pkg']
          ? `, ${cpu('import-pkg')} for an empty file behind a package name with boros' \`exports\``
          : '') +
        (by.import?.cpuMs != null && floor?.cpuMs != null
          ? ` (boros' own share of the flag: ${(by.import.cpuMs - floor.cpuMs).toFixed(1)} ms)`
          : '') +
        '.'
    )
  }
  if (doc.rm) {
    const by = Object.fromEntries(doc.rm.rows.map((r) => [r.name, r]))
    const n = by['node:fs/promises']
    const b = by['boros/fs']
    if (n && b) {
      out.push(
        `\`rm\` recursive of a watched tree (${doc.rm.dirs}×${doc.rm.files + 1} files, median of ${doc.rm.rounds}): ` +
          `boros/fs ${b.totalMs.toFixed(1)} ms, top directory gone after ${b.goneMs.toFixed(1)} ms; ` +
          `node:fs/promises ${n.totalMs.toFixed(1)} ms, ${n.goneMs.toFixed(1)} ms (bench/extra/rm-watch.mjs).`
      )
    }
  }
  const w = Object.fromEntries(
    doc.results.filter((r) => r.workload === 'seqwrite' && r.rate > 0).map((r) => [r.contender, r])
  )
  if (w.fsp && (w['boros-wring'] || w['boros-wasync'] || w['boros-wpool'] || w['boros-wb'] || w['boros-wsynced'])) {
    const cell = (c, label) =>
      w[c] ? `${label} ${Math.round(w[c].rate).toLocaleString('en-US')} (${ratio(w[c].rate / w.fsp.rate)})` : null
    out.push(
      `Write routes, sequential 128 KiB writes + fsync, MB/s (x fs/promises): ` +
        [
          cell('boros', 'boros (default: ring+`IOSQE_ASYNC`, write-behind on idle CPU)'),
          cell('boros-wring', 'ring'),
          cell('boros-wasync', 'ring+`IOSQE_ASYNC`'),
          cell('boros-wpool', 'threadpool'),
          cell('boros-wb', 'default route with write-behind always (`BOROS_WRITE_BEHIND=1`)'),
          cell(
            'boros-wsynced',
            'write-behind of synced files only (`BOROS_WRITE_BEHIND=synced`, the previous default)'
          ),
          `fs/promises ${Math.round(w.fsp.rate).toLocaleString('en-US')}`
        ]
          .filter(Boolean)
          .join(', ') +
        '.'
    )
  }
  return out
}

/** One line on where and how the figures were measured. */
export function runLine(doc) {
  const m = doc.meta
  const rounds = m.settings?.rounds ?? 1
  return (
    `**Node ${m.node.version.replace(/^v/, '')}** (libuv ${m.node.uv}): ${m.machine.cpu} x${m.machine.cores}, ` +
    `Linux ${m.machine.kernel}, data on ${m.machine.fsType}, ${m.date.slice(0, 10)}; ` +
    `${rounds > 1 ? `the median of ${rounds} rounds, contenders alternating` : '1 round'}${m.quick ? ', QUICK run' : ''}. ` +
    `Generated by \`node bench/readme-table.mjs --write\` from that run's results file.`
  )
}

/** Writes docs/bench/nodeNN.svg and the README block for one results document. */
export function writeReadme(doc, readmeFile = path.join(REPO, 'README.md')) {
  const major = doc.meta.node.version.replace(/^v/, '').split('.')[0]
  const svg = path.join(REPO, 'docs', 'bench', `node${major}.svg`)
  fs.mkdirSync(path.dirname(svg), { recursive: true })
  fs.writeFileSync(svg, renderSvg(doc))
  const begin = `<!-- bench:node${major}:begin -->`
  const end = `<!-- bench:node${major}:end -->`
  const text = fs.readFileSync(readmeFile, 'utf8')
  const i = text.indexOf(begin)
  const j = text.indexOf(end)
  if (i < 0 || j < i) throw new Error(`${readmeFile} has no ${begin} ... ${end} block`)
  const cpu = cpuLine(doc)
  const block = [
    begin,
    runLine(doc),
    '',
    `![boros vs node:fs on Node ${major}](docs/bench/node${major}.svg)`,
    '',
    table(doc),
    ...(cpu ? ['', cpu] : []),
    ...extraLines(doc).flatMap((l) => ['', l]),
    end
  ].join('\n')
  fs.writeFileSync(readmeFile, text.slice(0, i) + block + text.slice(j + end.length))
  return [svg, readmeFile]
}

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
    ['http-boros', 'node:http on boros/net'],
    ['http-create', 'boros/http `createServer`'],
    ['http-serve', 'boros/http `serve`'],
    ['express-node', 'Express on node:http'],
    ['express-boros', 'Express on boros/http'],
    ['bun-serve', 'Bun.serve'],
    ['deno-serve', 'Deno.serve']
  ]
}
/** The echo and http tables of a results document ('' when it has none). */
export function netTables(doc) {
  const groups = new Map()
  for (const r of doc.results) {
    const k = `${r.workload}\u0000${r.config}`
    if (!groups.has(k)) groups.set(k, [])
    groups.get(k).push(r)
  }
  const text = []
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
        // The idle-connections row: the server's RSS and what each connection added.
        if (r?.idle && r.rssIdleKiB != null)
          return `${(r.rssIdleKiB / 1024).toFixed(0)} MiB (${r.perConnKiB != null ? r.perConnKiB.toFixed(1) : 'n/a'} KiB/conn)`
        if (!(r?.rate > 0)) return r?.skipped === 'n/a' || !r ? '—' : 'skipped'
        const ratio = base?.rate > 0 && c !== rows[0].base ? ` (${(r.rate / base.rate).toFixed(2)}x)` : ''
        const cpu = r.cpuPerOpUs != null ? `, ${r.cpuPerOpUs.toFixed(1)} µs CPU` : ''
        const p99 =
          r.p99Us != null
            ? `, p99 ${r.p99Us >= 10_000 ? `${(r.p99Us / 1000).toFixed(0)} ms` : `${(r.p99Us / 1000).toFixed(1)} ms`}`
            : ''
        return `${fmt(r)}${ratio}${cpu}${p99}`
      })
      const clients = rows.filter((r) => r.clientCpuPct != null).map((r) => r.clientCpuPct)
      const client = clients.length ? `${Math.round(Math.min(...clients))}–${Math.round(Math.max(...clients))}%` : 'n/a'
      out.push(`| ${rows[0].config} | ${cells.join(' | ')} | ${client} |`)
    }
    text.push(out.join('\n'))
  }
  return text.join('\n\n')
}

/**
 * A network-only run (`npm run bench -- --only echo` or `--only http`): writes
 * docs/bench/KIND-nodeNN.svg and the README block between <!-- bench:KIND-nodeNN:begin --> and
 * <!-- bench:KIND-nodeNN:end --> (KIND: echo or http; NN: the Node major version of the run).
 */
export function writeNetReadme(
  doc,
  kind,
  readmeFile = path.join(REPO, 'README.md'),
  svgDir = path.join(REPO, 'docs', 'bench')
) {
  const major = doc.meta.node.version.replace(/^v/, '').split('.')[0]
  const svg = path.join(svgDir, `${kind}-node${major}.svg`)
  fs.mkdirSync(path.dirname(svg), { recursive: true })
  fs.writeFileSync(svg, renderSvg(doc))
  const begin = `<!-- bench:${kind}-node${major}:begin -->`
  const end = `<!-- bench:${kind}-node${major}:end -->`
  const text = fs.readFileSync(readmeFile, 'utf8')
  const i = text.indexOf(begin)
  const j = text.indexOf(end)
  if (i < 0 || j < i) throw new Error(`${readmeFile} has no ${begin} ... ${end} block`)
  const versions = Object.entries(doc.meta.anchors ?? {})
    .map(
      ([k, v]) =>
        `${k} ${
          String(v)
            .replace(/^(bun|deno)\s+/, '')
            .split(' ')[0]
        }`
    )
    .join(', ')
  const title = kind === 'http' ? 'HTTP servers' : 'echo servers'
  const block = [
    begin,
    runLine(doc) + (versions ? ` Anchors: ${versions}.` : ''),
    '',
    `![${title} on Node ${major}](docs/bench/${kind}-node${major}.svg)`,
    '',
    netTables(doc),
    ...(kind === 'echo' && echoLine(doc) ? ['', echoLine(doc)] : []),
    end
  ].join('\n')
  fs.writeFileSync(readmeFile, text.slice(0, i) + block + text.slice(j + end.length))
  return [svg, readmeFile]
}

/**
 * Under the echo table: system calls per message (strace pass) at 64 B x 64 connections, the
 * server's peak RSS at 16 KiB x 1,000 connections and what each of 10,000 idle connections
 * added to its RSS, per contender ('' when the run has none of them).
 */
export function echoLine(doc) {
  const at = (config, key, f) =>
    NET.echo
      .map(([c, label]) => [label, doc.results.find((r) => r.config === config && r.contender === c)?.[key]])
      .filter(([, v]) => v != null && v > 0)
      .map(([label, v]) => `${label} ${f(v)}`)
      .join(', ')
  const sys = at('64 B x 64 conns', 'syscallsPerOp', (v) => v.toFixed(2))
  const rss = at('16 KiB x 1000 conns', 'maxRSSKiB', (v) => `${(v / 1024).toFixed(0)} MiB`)
  const idle = at('idle x 10000 conns (RSS)', 'perConnKiB', (v) => `${v.toFixed(1)} KiB`)
  return [
    sys && `System calls per message at 64 B x 64 connections (\`strace -f -c\` pass): ${sys}.`,
    rss && `Server peak RSS at 16 KiB x 1,000 connections: ${rss}.`,
    idle && `Server RSS per connection with 10,000 idle connections: ${idle}.`
  ]
    .filter(Boolean)
    .join(' ')
}

/** `echo` or `http` when every result of the run is that network workload, else null. */
export function netKind(doc) {
  for (const kind of Object.keys(NET))
    if (doc.results.length > 0 && doc.results.every((r) => r.workload === kind)) return kind
  return null
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const write = args.includes('--write')
  const files = args.filter((a) => a !== '--write')
  if (files.length === 0) files.push(fileURLToPath(new URL('./results/latest.json', import.meta.url)))
  for (const file of files) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
    const net = netTables(doc)
    const files = doc.results.some((r) => !r.net)
    const kind = netKind(doc)
    if (write && kind) {
      const wrote = writeNetReadme(doc, kind)
      console.error(`${file}: wrote ${wrote.map((f) => path.relative(REPO, f)).join(', ')}`)
    } else if (write && !files) {
      console.error(
        `${file}: echo/http only; run echo and http separately (--only echo, --only http) to write their blocks`
      )
      console.log(net)
    } else if (write) {
      const wrote = writeReadme(doc)
      console.error(`${file}: wrote ${wrote.map((f) => path.relative(REPO, f)).join(', ')}`)
    } else {
      console.log(runLine(doc))
      if (files) console.log(table(doc))
      for (const l of extraLines(doc)) console.log(`\n${l}`)
      if (net) console.log(`\n${net}`)
    }
  }
}
