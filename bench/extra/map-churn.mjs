#!/usr/bin/env node
// Why boros/http's createServer keeps no per-request `Map` (docs/http.md, "Node 24's p99 at 64
// connections"): 64 live entries, each replaced by a fresh ~1 KB object once per "request",
// with one quiet phase in which the table can be promoted, as between a warm-up and a run.
// Counts the full collections (Mark-Compacts) and the scavenges in each mode, one child
// process per mode:
//
//   node bench/extra/map-churn.mjs [--node PATH]
//
// map:    m.delete(i); m.set(i, o)        (a Map per connection slot, as `#open` was)
// mapinc: m.delete(n - 64); m.set(n, o)   (increasing keys: a connection table under churn)
// dict:   delete d[n - 64]; d[n] = o      (a dictionary object: what the shim uses now)
// array:  slots[i] = o                    (fields: what the connection's socket holds)
import { spawnSync } from 'node:child_process'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const MODES = ['map', 'mapinc', 'dict', 'array']
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { node: { type: 'string', default: process.execPath } }
})

if (positionals[0] === undefined) {
  for (const mode of MODES) {
    const r = spawnSync(args.node, [new URL(import.meta.url).pathname, mode], { encoding: 'utf8' })
    process.stdout.write(r.stdout || `${mode}: failed ${r.stderr}\n`)
  }
} else {
  const mode = positionals[0]
  let major = 0
  let minor = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++
      else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++
    }
  }).observe({ entryTypes: ['gc'] })
  const m = new Map()
  const d = Object.create(null)
  const slots = new Array(64).fill(null)
  let n = 0
  const batch = () => {
    for (let i = 0; i < 64; i++) {
      const o = { a: new Array(100).fill(n), n }
      if (mode === 'map') {
        m.delete(i)
        m.set(i, o)
      } else if (mode === 'mapinc') {
        m.delete(n - 64)
        m.set(n, o)
      } else if (mode === 'dict') {
        delete d[n - 64]
        d[n] = o
      } else slots[i] = o
      n++
    }
    if (n === 64 * 1000) {
      // The quiet phase: other allocation, scavenges, the table untouched.
      let junk = []
      for (let k = 0; k < 4e6; k++) junk.push({ k })
      junk = null
    }
    if (n < 3e6) setImmediate(batch)
    else setTimeout(() => console.log(`${mode.padEnd(7)} Mark-Compacts ${major}, scavenges ${minor}`), 50)
  }
  batch()
}
