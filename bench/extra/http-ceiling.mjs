#!/usr/bin/env node
// How far `wrk -t1` can drive a server on this machine: the cheapest possible HTTP responder
// (bench/extra/http-canned.c: epoll, no parsing, one canned hello-world per request) next to
// the suite's Node servers, in one run, pinned as bench/net/run.mjs pins them (server on the
// last core, wrk on core 0). Each server runs alone: 1 s of warm-up, then `--seconds` of load;
// rounds alternate the order. Prints, per server, the median round's req/s, the ratio to
// node:http and how busy the server's core and wrk's core were, and the medians over rounds of
// server and wrk CPU per request (µs).
//
//   node bench/extra/http-ceiling.mjs [--conns 64] [--seconds 3] [--rounds 2]
//                                     [--servers canned,http-node,http-boros-serve] [--path /]
//
// A server named NAME@DIR runs DIR/bench/net/server.mjs (DIR's own build) instead: a before/after
// of a change side by side (e.g. a copy of the tree's dist, index.js, .node and bench/net in /tmp).
//
// A server at well under 100% of its core while wrk is near 100% of its own is wrk's limit,
// not the server's: the canned row says where that limit is.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { ensureHttpFile, ensureWrk } from '../net/run.mjs'

const BENCH = path.resolve(new URL('..', import.meta.url).pathname)
const REPO = path.resolve(BENCH, '..')
const { values: args } = parseArgs({
  options: {
    conns: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    servers: { type: 'string', default: 'canned,http-node,http-boros-serve' },
    path: { type: 'string', default: '/' }
  }
})
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
const cores = os.cpus().length
const serverCore = String(cores - 1)
const wrk = ensureWrk().bin
if (!wrk) throw new Error('wrk is not installed')

/** Builds the canned responder into the target directory (once per source change). */
function canned() {
  const src = path.join(BENCH, 'extra/http-canned.c')
  const bin = path.join(REPO, 'target/http-canned')
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(bin), { recursive: true })
    const r = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`cc http-canned.c: ${r.stderr}`)
  }
  return bin
}

function cpuOf(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / TICK
}

async function start(name) {
  const file = ensureHttpFile(path.join(REPO, '.bench-data'))
  // "NAME@DIR": the same server from another checkout's build (DIR/bench/net/server.mjs with
  // DIR/dist), for a before/after in one run.
  const [kind, dir] = name.split('@')
  const cmd =
    kind === 'canned'
      ? [canned(), '0']
      : [
          process.execPath,
          dir ? path.join(dir, 'bench/net/server.mjs') : path.join(BENCH, 'net/server.mjs'),
          JSON.stringify({ server: kind, port: 0, workers: 1, file })
        ]
  const child = spawn('taskset', ['-c', serverCore, ...cmd], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d) => (out += d))
  for (let i = 0; i < 2000 && !/^LISTENING \d+$/m.test(out); i++) await new Promise((r) => setTimeout(r, 10))
  const m = /^LISTENING (\d+)$/m.exec(out)
  if (!m) throw new Error(`${name}: did not start: ${out}`)
  const exited = new Promise((r) => child.on('exit', r))
  return {
    pid: child.pid,
    port: Number(m[1]),
    stop: async () => {
      if (name === 'canned') child.kill('SIGTERM')
      else child.stdin.write('exit\n')
      await exited
    }
  }
}

function load(port, secs) {
  const r = spawnSync(
    'taskset',
    [
      '-c',
      '0',
      '/usr/bin/time',
      '-f',
      'TIME %U %S',
      wrk,
      '-t1',
      `-c${args.conns}`,
      `-d${secs}s`,
      `http://127.0.0.1:${port}${args.path}`
    ],
    { encoding: 'utf8' }
  )
  const n = /(\d+) requests in ([\d.]+)s/.exec(r.stdout)
  const t = /TIME ([\d.]+) ([\d.]+)/.exec(r.stderr)
  if (!n) throw new Error(`wrk: ${r.stdout}${r.stderr}`)
  const errs = /Non-2xx|Socket errors/.test(r.stdout)
  return { ops: Number(n[1]), secs: Number(n[2]), wrkCpu: t ? Number(t[1]) + Number(t[2]) : null, errs }
}

const servers = args.servers.split(',')
const seconds = Number(args.seconds)
const rows = new Map(servers.map((s) => [s, []]))
for (let round = 0; round < Number(args.rounds); round++) {
  for (const name of round % 2 ? [...servers].reverse() : servers) {
    const srv = await start(name)
    load(srv.port, 1)
    const c0 = cpuOf(srv.pid)
    const r = load(srv.port, seconds)
    const c1 = cpuOf(srv.pid)
    await srv.stop()
    rows.get(name).push({
      rps: r.ops / r.secs,
      usPerReq: ((c1 - c0) / r.ops) * 1e6,
      serverPct: (100 * (c1 - c0)) / r.secs,
      wrkPct: r.wrkCpu != null ? (100 * r.wrkCpu) / r.secs : null,
      wrkUs: r.wrkCpu != null ? (r.wrkCpu / r.ops) * 1e6 : null,
      errs: r.errs
    })
  }
}

const median = (xs) => xs.toSorted((a, b) => a.rps - b.rps)[Math.floor((xs.length - 1) / 2)]
/** The median over rounds of one figure (CPU per request: steadier than any one round's). */
const medianOf = (xs, key) => xs.map((x) => x[key]).toSorted((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const base = rows.has('http-node') ? median(rows.get('http-node')) : null
const load1 = os.loadavg()[0].toFixed(1)
console.log(
  `wrk -t1 -c${args.conns} ${args.path}, ${seconds} s x ${args.rounds} rounds (median round), server on core ${serverCore}, wrk on core 0; Node ${process.version}; load average ${load1}`
)
const k = (x) => `${Math.round(x / 1000)}k`
const width = Math.max(18, ...servers.map((s) => s.length))
// A core can give a server at most 1e6 / (its µs per request) req/s, and wrk at most
// 1e6 / (wrk's µs per request): the "bound" columns, which hold on a loaded machine too.
console.log(
  `${'server'.padEnd(width)}    req/s   vs node:http   µs CPU/req   server core   wrk core   wrk µs/req   server bound   wrk bound   rounds (req/s)`
)
for (const [name, rs] of rows) {
  const m = {
    ...median(rs),
    usPerReq: medianOf(rs, 'usPerReq'),
    wrkUs: rs[0].wrkUs != null ? medianOf(rs, 'wrkUs') : null
  }
  console.log(
    `${name.padEnd(width)} ${Math.round(m.rps).toLocaleString('en-US').padStart(8)}   ${base ? `${(m.rps / base.rps).toFixed(2)}x`.padStart(12) : ''}   ${m.usPerReq.toFixed(2).padStart(10)}   ${`${m.serverPct.toFixed(0)}%`.padStart(11)}   ${m.wrkPct != null ? `${m.wrkPct.toFixed(0)}%`.padStart(8) : ''}   ${m.wrkUs != null ? m.wrkUs.toFixed(2).padStart(10) : ''}   ${k(1e6 / m.usPerReq).padStart(12)}   ${m.wrkUs != null ? k(1e6 / m.wrkUs).padStart(9) : ''}   ${rs.map((r) => Math.round(r.rps / 1000) + 'k' + (r.errs ? '!' : '')).join(' ')}`
  )
}
