// Output of the suite: terminal table, JSON file, SVG chart.
import fs from 'node:fs'
import path from 'node:path'
import { fmtNum, fmtRatio } from './util.mjs'

const BASE = 'fsp' // ratios in the chart are against node:fs/promises

/** Group results by (workload, config) and compute the ratio matrix of each group. */
export function groups(doc) {
  const out = []
  for (const r of doc.results) {
    let g = out.find((x) => x.workload === r.workload && x.config === r.config)
    if (!g) {
      g = { workload: r.workload, config: r.config, title: r.title, unit: r.unit, op: r.op, rows: [] }
      out.push(g)
    }
    g.rows.push(r)
  }
  for (const g of out) {
    const ok = g.rows.filter((r) => r.rate > 0)
    const rateOf = (c) => ok.find((r) => r.contender === c)?.rate ?? null
    // ratios[a][b] = rate(a) / rate(b): "a is ratios[a][b] times as fast as b".
    g.ratios = Object.fromEntries(
      ok.map((a) => [a.contender, Object.fromEntries(ok.map((b) => [b.contender, +(a.rate / b.rate).toFixed(4)]))])
    )
    // The network workloads name their own baseline (node:net, node:http) and boros row.
    g.baseKey = g.rows[0]?.base ?? BASE
    g.borosKey = g.rows[0]?.borosKey ?? 'boros'
    g.net = g.rows[0]?.net === true
    g.baseLabel = g.rows.find((r) => r.contender === g.baseKey)?.label ?? 'fs/promises'
    g.base = rateOf(g.baseKey)
    g.boros = rateOf(g.borosKey)
  }
  return out
}

function pad(s, n, right = false) {
  s = String(s)
  return right ? s.padStart(n) : s.padEnd(n)
}

export function printReport(doc) {
  const m = doc.meta
  const lines = []
  lines.push('')
  lines.push(
    `boros bench — ${m.machine.cpu} x${m.machine.cores}, Linux ${m.machine.kernel}, Node ${m.node.version} (libuv ${m.node.uv}), data on ${m.machine.fsType}${m.quick ? ', QUICK' : ''}`
  )
  const rounds = m.settings?.rounds ?? 1
  if (rounds > 1)
    lines.push(
      `each rate: the median of ${rounds} rounds (contenders alternate within a configuration); range = slowest..fastest round`
    )
  const cols = [
    ['contender', 21, false],
    ['rate', 12, true],
    ['vs fs/prom', 10, true],
    ['boros/this', 10, true],
    ['enters/op', 9, true],
    ['CPU us/op', 9, true],
    ['maxRSS MiB', 10, true]
  ]
  const all = groups(doc)
  for (const g of all) {
    if (g.net) continue
    lines.push('')
    lines.push(`${g.workload} ${g.config} — ${g.title} (${g.unit}; op = ${g.op})`)
    lines.push('  ' + cols.map(([h, n, r]) => pad(h, n, r)).join('  '))
    for (const r of g.rows) {
      let cells
      if (r.rate > 0) {
        cells = [
          r.label,
          fmtNum(r.rate, r.unit === 'MB/s' ? 1 : 0),
          g.base ? fmtRatio(r.rate / g.base) : 'n/a',
          g.boros ? fmtRatio(g.boros / r.rate) : 'n/a',
          r.entersPerOp != null ? fmtNum(r.entersPerOp, 3) : 'n/a',
          r.cpuPerOpUs != null ? fmtNum(r.cpuPerOpUs, 2) : 'n/a',
          r.maxRSSKiB != null ? fmtNum(r.maxRSSKiB / 1024, 0) : 'n/a'
        ]
        let line = '  ' + cells.map((c, i) => pad(c, cols[i][1], cols[i][2])).join('  ')
        if (r.reused) line += '  (same run as first config)'
        else if (r.roundRates?.length > 1) {
          const lo = Math.min(...r.roundRates)
          const hi = Math.max(...r.roundRates)
          line += `  range ${fmtNum(lo, r.unit === 'MB/s' ? 1 : 0)}..${fmtNum(hi, r.unit === 'MB/s' ? 1 : 0)}`
        }
        lines.push(line)
      } else {
        const why = r.skipped ?? `FAILED: ${r.error}`
        if (why === 'n/a') continue
        lines.push(`  ${pad(r.label, cols[0][1])}  ${r.skipped ? 'skipped: ' : ''}${why.split('\n')[0]}`)
      }
    }
  }
  if (all.some((g) => g.net))
    netTables(
      all.filter((g) => g.net),
      lines
    )
  if (all.some((g) => !g.net)) {
    lines.push('')
    lines.push('rate: ops/s or MB/s (10^6 B/s); vs fs/prom: rate / node:fs/promises rate (>1 = faster);')
    lines.push('boros/this: boros rate / this rate; enters/op: io_uring_enter calls per op (boros: its stats();')
    lines.push('others: strace -f -c pass, n/a when not run); CPU us/op: process CPU time (all threads) / ops.')
  }
  console.log(lines.join('\n'))
}

const NET_COLS = [
  ['contender', 22, false],
  ['req/s', 10, true],
  ['vs base', 7, true],
  ['boros/this', 10, true],
  ['p50 us', 7, true],
  ['p99 us', 7, true],
  ['srv CPU us/req', 14, true],
  ['srv CPU%', 8, true],
  ['client CPU%', 11, true],
  ['enters/req', 10, true],
  ['syscalls/req', 12, true],
  ['maxRSS MiB', 10, true]
]

/** The echo and http tables: one per configuration, the baseline is node:net / node:http. */
function netTables(gs, lines) {
  for (const g of gs) {
    lines.push('')
    const pin = g.rows.find((r) => r.pinning)?.pinning
    lines.push(`${g.workload} ${g.config} — ${g.title}${pin ? ` [${pin}]` : ''}`)
    lines.push('  ' + NET_COLS.map(([h, n, r]) => pad(h, n, r)).join('  '))
    for (const r of g.rows) {
      if (r.idle && r.rssIdleKiB != null) {
        // The idle-connections row: RSS, not a rate.
        lines.push(
          `  ${pad(r.label, NET_COLS[0][1])}  RSS ${fmtNum(r.rssIdleKiB / 1024, 0)} MiB with ${fmtNum(r.ops, 0)} idle keep-alive connections (${fmtNum(r.rssBeforeKiB / 1024, 0)} MiB before: ${r.perConnKiB != null ? fmtNum(r.perConnKiB, 1) : 'n/a'} KiB per connection)`
        )
        continue
      }
      if (!(r.rate > 0)) {
        const why = r.skipped ?? `FAILED: ${r.error}`
        if (why !== 'n/a')
          lines.push(`  ${pad(r.label, NET_COLS[0][1])}  ${r.skipped ? 'skipped: ' : ''}${why.split('\n')[0]}`)
        continue
      }
      const cells = [
        r.label,
        fmtNum(r.rate, 0),
        g.base ? fmtRatio(r.rate / g.base) : 'n/a',
        g.boros ? fmtRatio(g.boros / r.rate) : 'n/a',
        fmtNum(r.p50Us, 0),
        fmtNum(r.p99Us, 0),
        r.cpuPerOpUs != null ? fmtNum(r.cpuPerOpUs, 2) : 'n/a',
        r.serverCpuPct != null ? fmtNum(r.serverCpuPct, 0) : 'n/a',
        r.clientCpuPct != null ? fmtNum(r.clientCpuPct, 0) : 'n/a',
        r.entersPerOp != null ? fmtNum(r.entersPerOp, 3) : 'n/a',
        r.syscallsPerOp != null ? fmtNum(r.syscallsPerOp, 2) : 'n/a',
        r.maxRSSKiB != null ? fmtNum(r.maxRSSKiB / 1024, 0) : 'n/a'
      ]
      let line = '  ' + cells.map((c, i) => pad(c, NET_COLS[i][1], NET_COLS[i][2])).join('  ')
      if (r.roundRates?.length > 1)
        line += `  range ${fmtNum(Math.min(...r.roundRates), 0)}..${fmtNum(Math.max(...r.roundRates), 0)}`
      if (r.errors > 0) line += `  ERRORS ${r.errors} (${r.errorDetail ?? ''})`
      lines.push(line)
    }
  }
  lines.push('')
  lines.push('echo/http: vs base = req/s / node:net (echo) or node:http on libuv (http); boros/this = the boros')
  lines.push('low-level API (echo) or node:http on boros/net (http) / this; srv CPU: the server process (all threads,')
  lines.push('/proc) over the measured pass, per request and as % of one core; client CPU%: the load generator')
  lines.push('(~100 = the client was the bottleneck); enters/req: boros stats() (native: its own count; node:net:')
  lines.push('strace); syscalls/req: every system call of the server under strace -f -c (a separate short pass).')
}

export function writeJson(doc, dir) {
  fs.mkdirSync(dir, { recursive: true })
  const full = { ...doc, groups: groups(doc).map(({ rows, ...g }) => g) }
  const text = JSON.stringify(full, null, 2) + '\n'
  const latest = path.join(dir, 'latest.json')
  const stamped = path.join(dir, `${doc.meta.date.replace(/[:.]/g, '-')}.json`)
  fs.writeFileSync(latest, text)
  fs.writeFileSync(stamped, text)
  return [latest, stamped]
}

// ------------------------------------------------------------------ SVG --

const COLORS = {
  'node-net': '#495057',
  'http-node': '#495057',
  'boros-ll': '#d9480f',
  'boros-net': '#f08c00',
  'http-boros': '#f08c00',
  'http-create': '#d9480f',
  'http-serve': '#c92a2a',
  'express-node': '#868e96',
  'express-boros': '#e8590c',
  'bun-serve': '#f9c74f',
  'deno-serve': '#2f9e44',
  'native-echo': '#7048e8',
  boros: '#d9480f',
  'boros-pool': '#f08c00',
  'boros-cb': '#e8590c',
  'boros-wring': '#ff922b',
  'boros-wasync': '#fab005',
  'boros-wpool': '#a61e4d',
  'boros-wb': '#5f3dc4',
  'boros-wsynced': '#9775fa',
  fsp: '#495057',
  cb: '#1c7ed6',
  sync: '#868e96',
  'fsp-uring': '#2b8a3e',
  'cb-uring': '#74b816',
  native: '#7048e8',
  fio: '#ae3ec9'
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * A diverging horizontal bar chart on a log scale: each bar starts at 1x
 * (= node:fs/promises) and goes right when faster, left when slower.
 */
export function renderSvg(doc) {
  const m = doc.meta
  const gs = groups(doc).filter((g) => g.base)
  const rowH = 17
  const headH = 24
  const width = 1000
  const labelW = 170
  const plotX = labelW + 20
  const plotW = width - plotX - 200
  const top = 92

  const ratios = gs.flatMap((g) => g.rows.filter((r) => r.rate > 0).map((r) => r.rate / g.base))
  let lo = Math.min(0.5, ...ratios.map((r) => r / 1.15))
  let hi = Math.max(2, ...ratios.map((r) => r * 1.15))
  lo = 2 ** Math.floor(Math.log2(lo))
  hi = 2 ** Math.ceil(Math.log2(hi))
  const x = (r) => plotX + ((Math.log2(r) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * plotW

  const body = []
  let y = top
  for (const g of gs) {
    body.push(`<rect x="0" y="${y}" width="${width}" height="${headH - 2}" fill="#fff"/>`)
    body.push(
      `<text x="10" y="${y + 16}" class="group">${esc(`${g.workload} ${g.config}`)}<tspan class="sub" dx="6">— ${esc(g.title)} (${esc(g.unit)}; ${esc(g.baseLabel)} = ${esc(fmtNum(g.base, g.unit === 'MB/s' ? 1 : 0))})</tspan></text>`
    )
    y += headH
    for (const r of g.rows) {
      if (!(r.rate > 0)) continue
      const ratio = r.rate / g.base
      const x1 = x(1)
      const x2 = x(ratio)
      const color = COLORS[r.contender] ?? '#333'
      body.push(`<text x="${labelW}" y="${y + 12}" class="label" text-anchor="end">${esc(r.label)}</text>`)
      body.push(
        `<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y + 2}" width="${Math.max(1, Math.abs(x2 - x1)).toFixed(1)}" height="${rowH - 4}" fill="${color}"${r.contender === 'boros' ? ' stroke="#000" stroke-width="1"' : ''}/>`
      )
      const text = `${fmtRatio(ratio)}  ${fmtNum(r.rate, r.unit === 'MB/s' ? 0 : 0)} ${r.unit}`
      const tx = ratio >= 1 ? x2 + 5 : x1 + 5
      body.push(
        `<text x="${tx.toFixed(1)}" y="${y + 12}" class="value${r.contender === 'boros' ? ' bold' : ''}">${esc(text)}</text>`
      )
      y += rowH
    }
    y += 8
  }
  const bottom = y

  // Grid lines at powers of two, labelled above and below the plot.
  const grid = []
  for (let v = lo; v <= hi * 1.0001; v *= 2) {
    const gx = x(v).toFixed(1)
    const label = v >= 1 ? `${v}x` : `1/${1 / v}x`
    grid.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${bottom}" class="${v === 1 ? 'one' : 'grid'}"/>`)
    grid.push(`<text x="${gx}" y="${top - 10}" class="axis" text-anchor="middle">${label}</text>`)
    grid.push(`<text x="${gx}" y="${bottom + 14}" class="axis" text-anchor="middle">${label}</text>`)
  }

  const netOnly = gs.length > 0 && gs.every((g) => g.net)
  const title = `boros bench: throughput relative to ${netOnly ? 'node:net / node:http on libuv' : 'node:fs/promises (echo: node:net; http: node:http)'} (log scale; right of 1x = faster)`
  const sub = `${m.machine.cpu} x${m.machine.cores} · Linux ${m.machine.kernel} · Node ${m.node.version} (libuv ${m.node.uv}) · data on ${m.machine.fsType} · ${m.date.slice(0, 16).replace('T', ' ')} UTC${m.quick ? ' · QUICK run' : ''}`
  // Only the skips of contenders the chart's workloads have (not fio's in a network-only run).
  const present = new Set(groups(doc).flatMap((g) => g.rows.map((r) => r.contender)))
  const skips = Object.entries(m.skips ?? {})
    .filter(([c]) => present.has(c))
    .map(([, v]) => v)
    .filter((v, i, a) => a.indexOf(v) === i)
  const notes = skips.map(
    (s, i) => `<text x="10" y="${bottom + 36 + i * 14}" class="note">skipped: ${esc(s.split('\n')[0])}</text>`
  )
  const height = bottom + 36 + skips.length * 14 + 10

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .title { font-size: 17px; font-weight: 600; }
  .subtitle { font-size: 12px; fill: #495057; }
  .group { font-size: 13px; font-weight: 600; }
  .sub { font-weight: 400; fill: #495057; font-size: 12px; }
  .label { font-size: 12px; fill: #212529; }
  .value { font-size: 11px; fill: #343a40; }
  .bold { font-weight: 700; }
  .axis { font-size: 11px; fill: #868e96; }
  .note { font-size: 11px; fill: #868e96; }
  .grid { stroke: #e9ecef; stroke-width: 1; }
  .one { stroke: #212529; stroke-width: 1.5; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="26" class="title">${esc(title)}</text>
<text x="10" y="46" class="subtitle">${esc(sub)}</text>
<text x="10" y="62" class="subtitle">${esc(netOnly ? "bars start at 1x = the group's Node baseline; server and load generator pinned to separate cores" : `bars start at 1x = the group's baseline; in-flight (qd) applies to async contenders; fs sync is blocking (1 at a time)`)}</text>
${grid.join('\n')}
${body.join('\n')}
${notes.join('\n')}
</svg>
`
}

export function writeSvg(doc, dir) {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'latest.svg')
  fs.writeFileSync(file, renderSvg(doc))
  return file
}
