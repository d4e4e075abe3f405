// What write-behind (src-ts/fs/write-behind.ts) costs and gains, per policy, with and without a
// final fsync: awaited 128 KiB `fh.write`s over a file laid out once and kept in the page cache
// (as the `seqwrite` workload), one variant after the other in alternating order, in one process.
// Before every variant `sync` cleans the page cache (outside the timing), so each write starts
// from clean cached pages as a file written once would; `--dirty` skips that sync, so each variant
// overwrites pages the previous one left dirty (a file rewritten within the kernel's 30 s).
//
//   node bench/extra/write-behind.mjs [--rounds N] [--mib M] [--fsync] [--dirty] [--dir PATH]
//
// Per variant: the median write phase, fsync and total (ms), and the median CPU time of the
// process over the write phase (all its threads: the JS thread, io-wq workers, libuv's pool; not
// the kernel's flusher threads, which do the write-back of the variants without write-behind later).
// With --fsync, "boros (default)" is written behind from its second round on: the file was synced
// in this process by then (write-behind.ts remembers synced files), as the default policy says.
// Not a timed test: figures for docs/files-internals.md ("Write-behind"). Exits non-zero when a
// variant could not run.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const rounds = Number(opt('--rounds', 5))
const mib = Number(opt('--mib', 256))
const withFsync = argv.includes('--fsync')
const dirty = argv.includes('--dirty')
const dir = path.resolve(opt('--dir', path.join(REPO, '.bench-data')))
const BLOCK = 128 * 1024

const boros = await import(path.join(REPO, 'dist/fs/index.js'))
const behind = await import(path.join(REPO, 'dist/fs/write-behind.js'))

/** [name, module, write-behind mode for `_forceWriteBehind` (undefined: the default policy)] */
const VARIANTS = [
  ['fs/promises', fsp, undefined],
  ['boros (default)', boros, undefined],
  ['boros, off', boros, 'off'],
  ['boros, synced only', boros, 'synced'],
  ['boros, always', boros, 'always']
]

const file = path.join(dir, `write-behind-${process.pid}.bin`)
fs.mkdirSync(dir, { recursive: true })
const fd = fs.openSync(file, 'w')
const zero = Buffer.alloc(1024 * 1024)
for (let at = 0; at < mib; at++) fs.writeSync(fd, zero, 0, zero.length, at * zero.length)
fs.fsyncSync(fd)
fs.closeSync(fd)
const buf = Buffer.alloc(BLOCK, 0x5a)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

async function one(mod, mode) {
  if (!dirty) spawnSync('sync')
  behind._forceWriteBehind(mode)
  const fh = await mod.open(file, 'r+')
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const n = (mib * 1024 * 1024) / BLOCK
  for (let i = 0; i < n; i++) {
    const { bytesWritten } = await fh.write(buf, 0, BLOCK, i * BLOCK)
    if (bytesWritten !== BLOCK) throw new Error(`short write: ${bytesWritten}`)
  }
  const write = ms(t0)
  const c = process.cpuUsage(c0)
  const t1 = process.hrtime.bigint()
  if (withFsync) await fh.sync()
  const sync = ms(t1)
  await fh.close()
  behind._forceWriteBehind(undefined)
  return { write, sync, total: write + sync, cpu: (c.user + c.system) / 1000 }
}

const results = VARIANTS.map(() => [])
for (let r = -1; r < rounds; r++) {
  const order = VARIANTS.map((_, i) => i)
  if (r % 2 === 1) order.reverse()
  for (const i of order) {
    const res = await one(VARIANTS[i][1], VARIANTS[i][2])
    if (r >= 0) results[i].push(res)
  }
}
fs.rmSync(file, { force: true })

const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log(
  `Node ${process.version}, ${mib} MiB of awaited 128 KiB writes, ${withFsync ? 'then fsync' : 'no fsync'}, ${dirty ? 'over dirty pages' : 'over clean cached pages'}, ${rounds} rounds (medians), load ${load}`
)
console.log('| variant | write ms | fsync ms | total ms (x fs/promises) | CPU ms in the write phase |')
console.log('|---|---|---|---|---|')
const base = median(results[0].map((x) => x.total))
for (const [i, v] of VARIANTS.entries()) {
  const m = (k) => median(results[i].map((x) => x[k]))
  console.log(
    `| ${v[0]} | ${m('write').toFixed(0)} | ${withFsync ? m('sync').toFixed(0) : '—'} | ${m('total').toFixed(0)} (${(base / m('total')).toFixed(2)}x) | ${m('cpu').toFixed(0)} |`
  )
}
