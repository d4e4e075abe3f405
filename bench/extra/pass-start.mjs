#!/usr/bin/env node
// The echo bench's measured pass start, by time and by thread (docs/net.md, issue 21, tenth
// round). The server (the echo bench's: a 'data' listener that writes back) runs on the last
// core; the suite's echo_client runs on core 0 a warm-up pass of 0.5 s on N connections of its
// own, then the measured pass on N new ones, as the echo bench does. Printed: when (ms after
// the measured pass's start, as echo_client sets it: every connection connected) the server
// saw the warm-up's ends and closes, the new accepts and their first messages; the server's
// CPU from the warm-up's first end to the Nth first message, its main thread's and each other
// thread's (/proc schedstat: V8's workers are on the same core); the client's latency
// quantiles, and its first requests'.
//
//   node bench/extra/pass-start.mjs [--tree DIR] [--kind socket|node] [--conns 1000]
//                                   [--size 64] [--seconds 3] [--node-flag=--trace-deopt ...]
//
// --tree: the checkout whose dist/ the server loads (default: this one), for an A/B of two
// builds. With a --node-flag such as --trace-deopt, the server's output goes to
// pass-start-server.log in the working directory, with MARK lines at the warm-up's first end,
// the first and last accept and the Nth first message.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { echoClientArgs, runAsync } from '../net/clients.mjs'
import { ensureEchoExamples } from '../net/externals.mjs'

const unixUs = () => (performance.timeOrigin + performance.now()) * 1000

if (process.argv[2] === '--serve') await serve(JSON.parse(process.argv[3]))
else await main()

async function serve({ tree, kind, conns, log }) {
  const net = kind === 'node' ? await import('node:net') : await import(`${tree}/dist/net/index.js`)
  const ev = { end: [], close: [], accept: [], first: [] }
  const marks = {}
  const cpuOf = (path) => Number(fs.readFileSync(path, 'utf8').split(' ')[0]) / 1e6
  const mark = (name) => {
    if (log) process.stdout.write(`MARK ${name}\n`)
    const threads = {}
    for (const t of fs.readdirSync('/proc/self/task')) {
      try {
        threads[t] = cpuOf(`/proc/self/task/${t}/schedstat`)
      } catch {}
    }
    const u = process.cpuUsage()
    marks[name] = { process: (u.user + u.system) / 1000, main: cpuOf('/proc/thread-self/schedstat'), threads }
  }
  let n = 0
  let firsts = 0
  const srv = net.createServer({ noDelay: true }, (s) => {
    const id = n++
    const warm = id < conns
    if (!warm) ev.accept.push(unixUs())
    if (id === conns) mark('firstAccept')
    if (id === 2 * conns - 1) mark('lastAccept')
    let first = !warm
    s.on('data', (d) => {
      if (first) {
        first = false
        ev.first.push(unixUs())
        if (++firsts === conns) mark('lastFirst')
      }
      s.write(d)
    })
    if (warm) {
      s.on('end', () => {
        if (ev.end.length === 0) mark('firstEnd')
        ev.end.push(unixUs())
      })
      s.on('close', () => ev.close.push(unixUs()))
    }
    s.on('error', () => s.destroy())
  })
  srv.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => process.stdout.write(`PORT ${srv.address().port}\n`))
  process.on('SIGTERM', () => {
    process.stdout.write(`RESULT ${JSON.stringify({ ev, marks })}\n`)
    process.exit(0)
  })
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      tree: { type: 'string', default: new URL('../..', import.meta.url).pathname.replace(/\/$/, '') },
      kind: { type: 'string', default: 'socket' },
      conns: { type: 'string', default: '1000' },
      size: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '3' },
      'node-flag': { type: 'string', multiple: true, default: [] }
    }
  })
  const { client, skip } = ensureEchoExamples()
  if (skip) throw new Error(skip)
  const conns = Number(a.conns)
  const log = a['node-flag'].length > 0
  const last = String(os.cpus().length - 1)
  const cfg = JSON.stringify({ tree: a.tree, kind: a.kind, conns, log })
  const srv = spawn('taskset', [
    '-c',
    last,
    process.execPath,
    ...a['node-flag'],
    new URL(import.meta.url).pathname,
    '--serve',
    cfg
  ])
  let out = ''
  srv.stdout.on('data', (d) => {
    out += d
    if (log) fs.appendFileSync('pass-start-server.log', d)
  })
  srv.stderr.on('data', (d) => process.stderr.write(d))
  while (!/PORT (\d+)/.test(out)) {
    if (srv.exitCode != null) throw new Error(`the server exited: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const port = /PORT (\d+)/.exec(out)[1]
  const dump = `${os.tmpdir()}/pass-start-${process.pid}.bin`
  const clientArgs = (seconds) => ['-c', '0', client, ...echoClientArgs(port, a.conns, a.size, seconds)]
  await new Promise((resolve) => spawn('taskset', clientArgs('0.5'), { stdio: 'ignore' }).on('exit', resolve))
  const pass = await runAsync('taskset', [...clientArgs(a.seconds), '--dump', dump], (Number(a.seconds) + 60) * 1000)
  const [got, err] = [pass.stdout, pass.stderr]
  srv.kill('SIGTERM')
  await new Promise((resolve) => srv.on('exit', resolve))
  const start = Number(/start (\d+) us/.exec(err)[1])
  const { ev, marks } = JSON.parse(/RESULT (.*)/.exec(out)[1])
  console.log(
    `${a.kind} @ ${a.tree} (${a.conns} x ${a.size} B, load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`
  )
  console.log(`  ${got.trim()}`)
  const rel = (t) => ((t - start) / 1000).toFixed(1)
  for (const [what, ts] of Object.entries(ev)) {
    ts.sort((x, y) => x - y)
    const name = { end: "warm-up 'end'", close: "warm-up 'close'", accept: 'accepts', first: 'first messages' }[what]
    if (ts.length > 0)
      console.log(`  ${name}: ${ts.length}, ${rel(ts[0])} to ${rel(ts.at(-1))} ms (p50 ${rel(ts[ts.length >> 1])})`)
  }
  const from = marks.firstEnd
  const to = marks.lastFirst
  if (from && to) {
    const threads = Object.keys(to.threads)
      .map((t) => to.threads[t] - (from.threads[t] ?? 0))
      .filter((ms) => ms > 0.05)
    const main = to.main - from.main
    console.log(
      `  server CPU from the warm-up's first 'end' to the last first message: ${(to.process - from.process).toFixed(1)} ms, ` +
        `main thread ${main.toFixed(1)}, other threads ${(threads.reduce((s, x) => s + x, 0) - main).toFixed(1)} ` +
        `(${threads.length - 1} of them)`
    )
  }
  const raw = fs.readFileSync(dump)
  fs.rmSync(dump)
  // echo_client --dump: (connection, end us, latency us) as three u32 per request.
  const u = new Uint32Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 4))
  const lat = []
  const firstLat = new Map()
  for (let i = 0; i + 2 < u.length; i += 3) {
    lat.push(u[i + 2])
    if (!firstLat.has(u[i])) firstLat.set(u[i], u[i + 2])
  }
  lat.sort((x, y) => x - y)
  const q = (p) => (lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] / 1000).toFixed(1)
  const fl = [...firstLat.values()].sort((x, y) => x - y)
  console.log(
    `  latency ms: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.5 ${q(0.995)} p99.9 ${q(0.999)} max ${q(1)}; ` +
      `first requests p50 ${(fl[fl.length >> 1] / 1000).toFixed(1)} max ${(fl.at(-1) / 1000).toFixed(1)} ms`
  )
}
