#!/usr/bin/env node
// Memory soak: 10 million random 4 KiB reads through boros at 64 in flight, RSS sampled as it
// goes. Passes when RSS at the end is within 10% of RSS after the first million reads.
//
//   node bench/extra/soak.mjs [--reads N] [--file PATH]     (npm run bench:soak)
//
// The file defaults to the suite's cached 1 GiB file (bench/run.mjs makes it).
//
// It re-runs itself with V8's young generation sized up front (16 MiB semi-spaces, V8's
// default maximum): otherwise V8 grows the young generation in steps while the process warms up
// (64 -> 79 -> 91 MiB RSS over the first 5M reads, then flat to 10M), which says nothing about
// boros. `--natural-heap` keeps V8's default sizing.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'

if (!process.argv.includes('--natural-heap') && !process.execArgv.some((a) => a.startsWith('--min-semi-space-size'))) {
  const r = spawnSync(
    process.execPath,
    ['--min-semi-space-size=16', '--max-semi-space-size=16', ...process.argv.slice(1)],
    { stdio: 'inherit' }
  )
  process.exit(r.status ?? 1)
}

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const { values: args } = parseArgs({
  options: {
    reads: { type: 'string', default: '10000000' },
    file: { type: 'string' },
    qd: { type: 'string', default: '64' }
  }
})
const total = Number(args.reads)
const qd = Number(args.qd)
const file = args.file ?? path.join(REPO, '.bench-data/big-1024MiB.bin')
if (!fs.existsSync(file)) {
  console.error(`${file} is missing: run npm run bench -- --only randread once to make it, or pass --file`)
  process.exit(2)
}
const { open } = await import(path.join(REPO, 'dist/fs/index.js'))
const { stats } = await import(path.join(REPO, 'dist/index.js'))

const size = fs.statSync(file).size
const blocks = Math.floor(size / 4096)
let x = 0x2545f491
const next = () => {
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return ((x >>> 0) % blocks) * 4096
}
const mib = (b) => Math.round(b / 1048576)
const fh = await open(file, 'r')
let done = 0
let rssAt1M = 0
let peak = 0
const samples = []
const every = Math.max(1, Math.floor(total / 50))
const t0 = performance.now()
async function loop() {
  const buf = Buffer.alloc(4096)
  while (done < total) {
    const { bytesRead } = await fh.read(buf, 0, 4096, next())
    if (bytesRead !== 4096) throw new Error(`short read ${bytesRead}`)
    done++
    if (done % every === 0 || done === Math.min(1_000_000, total)) {
      const rss = process.memoryUsage.rss()
      peak = Math.max(peak, rss)
      if (done === Math.min(1_000_000, total)) rssAt1M = rss
      samples.push([done, rss])
      if (done % (every * 5) === 0) process.stderr.write(`  ${done.toLocaleString()} reads, RSS ${mib(rss)} MiB\r`)
    }
  }
}
await Promise.all(Array.from({ length: qd }, loop))
await fh.close()
const seconds = (performance.now() - t0) / 1000
const rssEnd = process.memoryUsage.rss()
const growth = rssEnd / rssAt1M - 1
const result = {
  reads: done,
  seconds: +seconds.toFixed(2),
  readsPerSec: Math.round(done / seconds),
  rssAfter1MMiB: mib(rssAt1M),
  rssEndMiB: mib(rssEnd),
  peakRssMiB: mib(peak),
  growthPercent: +(growth * 100).toFixed(1),
  enterCallsPerRead: +(stats().enterCalls / done).toFixed(4),
  rssMiBByMillion: samples.filter(([n]) => n % 1_000_000 === 0).map(([, r]) => mib(r)),
  heapUsedMiB: mib(process.memoryUsage().heapUsed),
  pass: growth <= 0.1
}
process.stderr.write('\n')
console.log(JSON.stringify(result))
console.log(
  `soak: ${done.toLocaleString()} reads in ${result.seconds} s; RSS after 1M ${result.rssAfter1MMiB} MiB, at the end ${result.rssEndMiB} MiB (${result.growthPercent >= 0 ? '+' : ''}${result.growthPercent}%), peak ${result.peakRssMiB} MiB: ${result.pass ? 'PASS' : 'FAIL'} (limit +10%)`
)
process.exitCode = result.pass ? 0 : 1
