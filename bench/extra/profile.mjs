#!/usr/bin/env node
// Where the CPU time of one benchmark run goes, per operation.
//
//   node bench/extra/profile.mjs [--workload randread] [--qd 64] [--contender boros]
//                                [--seconds 3] [--top 25] [--out FILE]
//
// Runs one suite child (bench/child.mjs: the same code `npm run bench` measures) under
// `perf record` (with --perf-basic-prof, so JIT-compiled JS has names), then splits the
// samples of all the process's threads into buckets: kernel, JS (JIT code), Node/V8
// (builtins, runtime: promises, microtasks, GC), libc (memcpy, malloc), the boros addon,
// and other. Each bucket's share times the run's CPU seconds per op gives microseconds per
// op. Prints the buckets and the top symbols; --out also writes them to FILE.
//
// Needs `perf` (apt-get install linux-perf) and the suite's data (`npm run bench -- --only
// <workload>` makes it). Contenders: boros, boros-pool (BufferPool buffers), fsp
// (node:fs/promises), cb (callbacks), sync, and native (the Rust example the suite uses as its
// ceiling; randread and seqread only).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { ensureBigFile, ensureTree } from '../data.mjs'
import { GiB, KiB, RESULT_MARK } from '../util.mjs'

const { values: args } = parseArgs({
  options: {
    workload: { type: 'string', default: 'randread' },
    qd: { type: 'string', default: '64' },
    contender: { type: 'string', default: 'boros' },
    seconds: { type: 'string', default: '3' },
    top: { type: 'string', default: '25' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (args.help) {
  console.log(
    fs
      .readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 16)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n')
  )
  process.exit(0)
}

const BENCH = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const REPO = path.resolve(BENCH, '..')
const SEED = 0x2545f491
const KINDS = {
  boros: { kind: 'promise', api: 'boros' },
  'boros-pool': { kind: 'promise', api: 'boros', pool: true },
  native: { native: true },
  fsp: { kind: 'promise', api: 'node' },
  cb: { kind: 'callback', api: 'node' },
  sync: { kind: 'sync', api: 'node' }
}
const contender = KINDS[args.contender]
if (!contender) {
  console.error(`unknown contender ${args.contender}; known: ${Object.keys(KINDS).join(', ')}`)
  process.exit(2)
}
if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('perf is not installed (apt-get install linux-perf)')
  process.exit(2)
}

const dataDir = path.join(REPO, '.bench-data')
const big = ['randread', 'seqread'].includes(args.workload)
const tree = ['readfiles', 'statstorm'].includes(args.workload)
const seqBlock = 128 * KiB
const params = {
  file: big ? ensureBigFile(dataDir, GiB, SEED) : null,
  fileSize: GiB,
  manifest: tree ? ensureTree(dataDir, 10000, 100, SEED) : null,
  writeFile: path.join(dataDir, 'profile-write.tmp'),
  writeSize: GiB,
  block: args.workload === 'seqread' || args.workload === 'seqwrite' ? seqBlock : 4 * KiB,
  qd: ['seqread', 'seqwrite'].includes(args.workload) ? 1 : Number(args.qd),
  seed: SEED,
  seconds: Number(args.seconds)
}
const spec = { workload: args.workload, ...contender, params, seconds: params.seconds, warmup: 0.5 }

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-profile-'))
const data = path.join(tmp, 'perf.data')
let command
if (contender.native) {
  if (!big) {
    console.error('the native contender runs randread and seqread only')
    process.exit(2)
  }
  const bin = path.join(REPO, 'target/release/examples/randread')
  if (!fs.existsSync(bin)) {
    console.error(`${bin} is missing: cargo build --release -p boros --example randread`)
    process.exit(2)
  }
  const seq = args.workload === 'seqread' ? ['--seq'] : []
  const nativeArgs = ['--file', params.file, '--qd', String(params.qd), '--seconds', args.seconds]
  // GNU time for the CPU seconds (the example prints ops, not CPU time).
  command = ['/usr/bin/time', '-f', 'CPU %U %S', bin, ...nativeArgs, '--block', String(params.block), ...seq]
} else {
  command = [process.execPath, '--perf-basic-prof', path.join(BENCH, 'child.mjs'), JSON.stringify(spec)]
}
const rec = spawnSync('perf', ['record', '-q', '-F', '1999', '-o', data, '--', ...command], {
  // cwd: the scratch dir, which takes the isolate-*.log files --perf-basic-prof leaves.
  encoding: 'utf8',
  cwd: tmp,
  env: { ...process.env, UV_USE_IO_URING: '0' },
  maxBuffer: 64 << 20
})
fs.rmSync(params.writeFile, { force: true })
let result
if (contender.native) {
  const out = JSON.parse((rec.stdout ?? '').trim().split('\n').at(-1) || 'null')
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(rec.stderr ?? '')
  if (!out || !cpu) {
    console.error(`the run produced no result (exit ${rec.status}):\n${rec.stderr}`)
    process.exit(1)
  }
  const [user, system] = [Number(cpu[1]), Number(cpu[2])]
  result = {
    ops: out.ops,
    seconds: out.seconds,
    cpuSeconds: user + system,
    cpuUserSeconds: user,
    cpuSystemSeconds: system
  }
} else {
  const line = (rec.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK))
  if (!line) {
    console.error(`the run produced no result (exit ${rec.status}):\n${rec.stderr}`)
    process.exit(1)
  }
  result = JSON.parse(line.slice(RESULT_MARK.length))
}
const report = spawnSync(
  'perf',
  ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio', '--percent-limit', '0'],
  { encoding: 'utf8', maxBuffer: 256 << 20 }
)
fs.rmSync(tmp, { recursive: true, force: true })
for (const f of fs.readdirSync('/tmp')) if (/^perf-\d+\.map$/.test(f)) fs.rmSync(path.join('/tmp', f), { force: true })

// Rows: "  12.34%  dso  [.] symbol".
const rows = []
for (const l of report.stdout.split('\n')) {
  const m = /^\s+([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[([.k])\]\s+(.*)$/.exec(l)
  if (m) rows.push({ pct: Number(m[1]), dso: m[2], kernel: m[3] === 'k', sym: m[4].trim() })
}
const bucketOf = (r) => {
  if (r.kernel || r.dso.includes('kernel')) return 'kernel'
  if (r.dso.startsWith('[JIT]') || r.dso.startsWith('perf-')) return 'JS (JIT code)'
  if (r.dso === 'node' || r.dso.endsWith('/node')) return 'Node/V8 (builtins, runtime, GC)'
  if (r.dso.startsWith('libc') || r.dso.startsWith('libstdc++') || r.dso.startsWith('libm')) return 'libc/libstdc++'
  if (r.dso.startsWith('boros') || r.dso === 'randread') return 'boros (addon or native example)'
  return 'other'
}
const buckets = new Map()
for (const r of rows) buckets.set(bucketOf(r), (buckets.get(bucketOf(r)) ?? 0) + r.pct)
const total = [...buckets.values()].reduce((a, b) => a + b, 0) || 1
const cpuPerOpUs = (result.cpuSeconds / result.ops) * 1e6
const out = []
out.push(
  `${args.workload} ${params.qd > 1 ? `qd=${params.qd} ` : ''}${args.contender}: ${Math.round(result.ops / result.seconds).toLocaleString('en-US')} ops/s, ${cpuPerOpUs.toFixed(2)} µs CPU/op (user ${((result.cpuUserSeconds / result.ops) * 1e6).toFixed(2)}, system ${((result.cpuSystemSeconds / result.ops) * 1e6).toFixed(2)}); Node ${process.version}, Linux ${os.release()}`
)
out.push('')
out.push('bucket                              share   µs/op')
for (const [name, pct] of [...buckets].sort((a, b) => b[1] - a[1])) {
  out.push(
    `${name.padEnd(34)} ${((100 * pct) / total).toFixed(1).padStart(6)}%  ${((cpuPerOpUs * pct) / total).toFixed(3).padStart(6)}`
  )
}
out.push('')
out.push(`top ${args.top} symbols (share of all samples, all threads)`)
for (const r of rows.slice(0, Number(args.top))) {
  out.push(`${r.pct.toFixed(2).padStart(6)}%  ${bucketOf(r).split(' ')[0].padEnd(8)} ${r.sym.slice(0, 100)}`)
}
const text = out.join('\n')
console.log(text)
if (args.out) fs.writeFileSync(args.out, `${text}\n`)
