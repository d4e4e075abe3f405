#!/usr/bin/env node
// Where a network server's CPU time goes, per request: one echo or http server contender of
// the suite (bench/net/server.mjs, with --perf-basic-prof) under `perf record`, pinned to the
// last core, driven by the suite's load generator on core 0. Prints CPU per request split into
// kernel / JS / Node+V8 / libc / boros / other, then the top symbols; --out also writes them.
//
//   node bench/extra/profile-net.mjs --server http-boros-net [--path /] [--conns 64] [--size 64]
//                                    [--seconds 3] [--top 30] [--out FILE] [--post BYTES]
//
// --post BYTES: POST bodies of that many bytes (wrk's Lua `wrk.body`, as the suite's POST
// row), e.g. --server express-boros --path /echo --post 4096.
//
// servers: echo-node, echo-boros-ll, echo-boros-conn, echo-boros-net, http-node, http-boros-net,
// http-boros-create, express-node, express-boros (any server kind of bench/net/server.mjs)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { echoClientArgs } from '../net/clients.mjs'
import { ensureEchoExamples, ensureHttpFile, ensureWrk } from '../net/run.mjs'

const BENCH = path.resolve(new URL('..', import.meta.url).pathname)
const REPO = path.resolve(BENCH, '..')
const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: 'http-boros-net' },
    path: { type: 'string', default: '/' },
    conns: { type: 'string', default: '64' },
    size: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    top: { type: 'string', default: '30' },
    out: { type: 'string' },
    post: { type: 'string' }
  }
})
const http = !args.server.startsWith('echo')
const seconds = Number(args.seconds)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-profile-net-'))
const data = path.join(tmp, 'perf.data')
const cores = os.cpus().length
const spec = { server: args.server, port: 0, workers: 1, file: ensureHttpFile(path.join(REPO, '.bench-data')) }
fs.mkdirSync(path.join(REPO, '.bench-data'), { recursive: true })

const srv = spawn(
  'perf',
  [
    'record',
    '-q',
    '-F',
    '1999',
    '-o',
    data,
    '--',
    'taskset',
    '-c',
    String(cores - 1),
    process.execPath,
    '--perf-basic-prof',
    path.join(BENCH, 'net/server.mjs'),
    JSON.stringify(spec)
  ],
  { cwd: tmp, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, UV_USE_IO_URING: '0' } }
)
let out = ''
srv.stdout.setEncoding('utf8')
srv.stdout.on('data', (d) => (out += d))
const until = async (re) => {
  for (let i = 0; i < 2000; i++) {
    const m = re.exec(out)
    if (m) return m
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`server: no ${re} in ${out}`)
}
const port = Number((await until(/^LISTENING (\d+)$/m))[1])
const stats = async (n) => {
  srv.stdin.write('stats\n')
  const all = () => [...out.matchAll(/^STATS (.*)$/gm)]
  while (all().length < n) await new Promise((r) => setTimeout(r, 10))
  return JSON.parse(all()[n - 1][1])
}

function load(secs) {
  let cmd
  if (http) {
    cmd = [ensureWrk().bin, '-t1', `-c${args.conns}`, `-d${secs}s`, `http://127.0.0.1:${port}${args.path}`]
    if (args.post !== undefined) {
      const script = path.join(tmp, 'post.lua')
      fs.writeFileSync(
        script,
        `wrk.method = "POST"\nwrk.body = string.rep("a", ${Number(args.post)})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`
      )
      cmd.push('-s', script)
    }
  } else {
    const e = ensureEchoExamples()
    cmd = [e.client, ...echoClientArgs(port, args.conns, args.size, secs)]
  }
  const r = spawnSync('taskset', ['-c', '0', ...cmd], { encoding: 'utf8' })
  const m = http ? /(\d+) requests in/.exec(r.stdout) : /(\d+) requests,/.exec(r.stdout)
  if (!m) throw new Error(`load generator: ${r.stdout}${r.stderr}`)
  return Number(m[1])
}

load(1)
const s0 = await stats(1)
const ops = load(seconds)
const s1 = await stats(2)
srv.stdin.write('exit\n')
await new Promise((r) => srv.on('exit', r))
const cpuSeconds = s1.cpuSeconds - s0.cpuSeconds

const report = spawnSync(
  'perf',
  ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio', '--percent-limit', '0'],
  {
    encoding: 'utf8',
    maxBuffer: 256 << 20
  }
)
fs.rmSync(tmp, { recursive: true, force: true })
for (const f of fs.readdirSync('/tmp')) if (/^perf-\d+\.map$/.test(f)) fs.rmSync(path.join('/tmp', f), { force: true })

// The samples cover the warm-up pass too; the shares are what matters.
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
  if (r.dso.startsWith('boros')) return 'boros addon'
  return 'other'
}
const buckets = new Map()
for (const r of rows) buckets.set(bucketOf(r), (buckets.get(bucketOf(r)) ?? 0) + r.pct)
const total = [...buckets.values()].reduce((a, b) => a + b, 0) || 1
const perReq = (cpuSeconds / ops) * 1e6
const lines = [
  `${args.server} ${http ? args.path : `${args.size} B`} x ${args.conns} conns: ${Math.round(ops / seconds).toLocaleString('en-US')} req/s, ${perReq.toFixed(2)} µs server CPU/req; Node ${process.version}, Linux ${os.release()}`,
  '',
  'bucket                              share   µs/req'
]
for (const [name, pct] of [...buckets].sort((a, b) => b[1] - a[1]))
  lines.push(
    `${name.padEnd(34)} ${((100 * pct) / total).toFixed(1).padStart(6)}%  ${((perReq * pct) / total).toFixed(2).padStart(6)}`
  )
lines.push('', `top ${args.top} symbols (share of all samples, all threads)`)
for (const r of rows.slice(0, Number(args.top)))
  lines.push(`${r.pct.toFixed(2).padStart(6)}%  ${bucketOf(r).split(' ')[0].padEnd(8)} ${r.sym.slice(0, 100)}`)
const text = lines.join('\n')
console.log(text)
if (args.out) fs.writeFileSync(args.out, `${text}\n`)
