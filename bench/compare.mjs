#!/usr/bin/env node
// The regression guard: compares the ratios of one results file (or a run in progress) with a
// saved one. For every (workload, config) in both, every ratio boros-side / other contender
// (boros, boros-pool, boros-cb against each non-boros contender, rates of the same run) is
// compared; a ratio that fell by more than the tolerance (10 %) is flagged.
//
//   node bench/compare.mjs SAVED.json [NEW.json]     (NEW defaults to bench/results/latest.json)
//   npm run bench -- --compare SAVED.json            (the same, on the run just made)
//
// Exit code 1 when a ratio fell; 0 otherwise. Ratios, not rates: the machines are shared, and
// only figures measured side by side in one run mean anything.
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { groups } from './report.mjs'

export const TOLERANCE = 0.1
const BOROS = ['boros', 'boros-pool', 'boros-cb']

/** The ratio matrices of a results document, by `workload config`. */
function matrices(doc) {
  const gs = doc.groups ?? groups(doc)
  return new Map(gs.map((g) => [`${g.workload} ${g.config}`, g.ratios ?? {}]))
}

/**
 * Compares `fresh` with `saved`: one row per ratio present in both, `fell` when
 * fresh < saved * (1 - tolerance).
 */
export function compareDocs(saved, fresh, tolerance = TOLERANCE) {
  const before = matrices(saved)
  const after = matrices(fresh)
  const rows = []
  for (const [key, now] of after) {
    const then = before.get(key)
    if (then === undefined) continue
    for (const a of BOROS) {
      if (now[a] === undefined || then[a] === undefined) continue
      for (const b of Object.keys(now[a])) {
        if (BOROS.includes(b)) continue
        const r1 = now[a][b]
        const r0 = then[a][b]
        if (!(r1 > 0) || !(r0 > 0)) continue
        rows.push({
          group: key,
          ratio: `${a}/${b}`,
          saved: r0,
          now: r1,
          change: r1 / r0 - 1,
          fell: r1 < r0 * (1 - tolerance)
        })
      }
    }
  }
  return rows
}

/** What differs between the two runs' settings in a way that moves ratios (quick mode, Node). */
export function settingsWarnings(saved, fresh) {
  const out = []
  if (Boolean(saved.meta?.quick) !== Boolean(fresh.meta?.quick))
    out.push('one run is --quick and the other is not: ratios differ by data size')
  const major = (d) => d.meta?.node?.version?.split('.')[0]
  if (major(saved) !== major(fresh))
    out.push(`different Node versions (${saved.meta?.node?.version} vs ${fresh.meta?.node?.version})`)
  return out
}

/** Prints the comparison; returns the number of ratios that fell. */
export function printComparison(rows, savedName, tolerance = TOLERANCE) {
  const lines = [``, `ratios compared with ${savedName} (flagged: fell by more than ${Math.round(tolerance * 100)} %)`]
  if (rows.length === 0) lines.push('  no ratio in common (different workloads or contenders?)')
  const w = Math.max(10, ...rows.map((r) => r.group.length))
  for (const r of rows) {
    const pct = `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)} %`
    lines.push(
      `  ${r.fell ? 'FELL' : '    '}  ${r.group.padEnd(w)}  ${r.ratio.padEnd(22)}  ${r.saved.toFixed(3).padStart(8)} -> ${r.now.toFixed(3).padStart(8)}  ${pct.padStart(9)}`
    )
  }
  const fell = rows.filter((r) => r.fell).length
  lines.push(fell ? `${fell} ratio(s) fell by more than ${Math.round(tolerance * 100)} %` : 'no ratio fell')
  console.log(lines.join('\n'))
  return fell
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [savedFile, freshFile = fileURLToPath(new URL('./results/latest.json', import.meta.url))] =
    process.argv.slice(2)
  if (!savedFile) {
    console.error('usage: node bench/compare.mjs SAVED.json [NEW.json]')
    process.exit(2)
  }
  const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'))
  const saved = read(savedFile)
  const fresh = read(freshFile)
  for (const w of settingsWarnings(saved, fresh)) console.log(`[warn] ${w}`)
  const fell = printComparison(compareDocs(saved, fresh), savedFile)
  process.exit(fell ? 1 : 0)
}
