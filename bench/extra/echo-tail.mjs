#!/usr/bin/env node
// Where an echo server's tail comes from (docs/net.md, "The tail at 1,000 busy 16 KiB
// connections"): each server kind in its own process on the last core, driven by the suite's
// echo_client on core 0, kinds alternating round by round. Per run: the client's figures, the
// server's CPU per message, peak RSS and starved receives, how fair it was (messages per
// connection, the first message's spread, how many connections got under a tenth of the
// median's messages), the gaps between a connection's messages (and with the waits before a
// connection's first message and after its last one: a connection left waiting has no gaps),
// each connection's mean round trip (the run over its messages), the batches JS saw (runs of messages less than 0.3 ms apart), and per half second: messages, the
// event loop's utilisation and longest delay, the main thread's time on a CPU and waiting for
// one (/proc/self/schedstat: on a loaded machine that wait is most of the tail), gc, stats().
//
//   node bench/extra/echo-tail.mjs [--kinds node,socket,conn] [--conns 1000] [--size 16384]
//                                  [--seconds 3] [--rounds 1] [--dist DIR] [--verbose] [--why]
//                                  [--warmup S]
//
// --warmup S: a pass of S seconds on connections of its own before the measured one, as the
// echo bench does (0.5 s there); the server's figures then cover both passes.
//
// --why: where the client's slowest 1 % of requests went. echo_client writes every request
// (--dump), the server its gc pauses and the batches JS saw; per run: the client's p99 with
// and without each connection's first request (the burst at the start, every connection at
// once), and of the slowest 1 %: how many were first requests, how many overlapped a gc pause
// and which kind, the share of their time spent in gc pauses, the p99 with the gc pauses taken
// out of every request's time, when in the run they ended, and the longest gaps between batches.
//
// kinds: node (node:net), socket (boros/net Socket), conn (boros Connection, callbacks).
// --dist: another build's dist/ (its ../boros.*.node beside it), for an A/B of two builds:
// give a kind as socket@DIR to run it from DIR's dist/.
import fs from 'node:fs'
import os from 'node:os'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { echoClientArgs, runAsync } from '../net/clients.mjs'
import { ensureEchoExamples } from '../net/externals.mjs'

if (process.argv[2] === '--serve')
  await serve(process.argv[3], Number(process.argv[4]), process.argv[5], process.argv[6], Number(process.argv[7] ?? 0))
else await main()

async function main() {
  const { values: a } = parseArgs({
    options: {
      kinds: { type: 'string', default: 'node,socket,conn' },
      conns: { type: 'string', default: '1000' },
      size: { type: 'string', default: '16384' },
      seconds: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '1' },
      dist: { type: 'string', default: new URL('../../dist/', import.meta.url).pathname },
      verbose: { type: 'boolean', default: false },
      why: { type: 'boolean', default: false },
      warmup: { type: 'string', default: '0' }
    }
  })
  const { client, server: nativeServer, skip } = ensureEchoExamples()
  if (skip) throw new Error(skip)
  const last = String(os.cpus().length - 1)
  const kinds = a.kinds.split(',')
  for (let r = 0; r < Number(a.rounds); r++) {
    for (const spec of r % 2 ? [...kinds].reverse() : kinds) {
      const [kind, dir] = spec.split('@')
      const dist = dir ? `${dir.replace(/\/$/, '')}/dist/` : a.dist
      // native: the suite's Rust echo_server (no JS, no gc; --why gets the client's side only).
      const nativePort = kind === 'native' ? await freePort() : 0
      if (kind === 'native' && a.why)
        fs.writeFileSync(whyFile('server'), JSON.stringify({ gc: [], idle: [], accepted: [], firstAt: [] }))
      const srv = spawn(
        'taskset',
        kind === 'native'
          ? ['-c', last, nativeServer, '--addr', `127.0.0.1:${nativePort}`]
          : [
              '-c',
              last,
              process.execPath,
              new URL(import.meta.url).pathname,
              '--serve',
              kind,
              a.size,
              dist,
              a.why ? whyFile('server') : '',
              Number(a.warmup) > 0 ? a.conns : '0'
            ]
      )
      let out = kind === 'native' ? `PORT ${nativePort}\n` : ''
      if (kind === 'native') await new Promise((resolve) => setTimeout(resolve, 300))
      srv.stdout.on('data', (d) => (out += d))
      srv.stderr.on('data', (d) => (out += d))
      const port = await new Promise((resolve, reject) => {
        const t = setInterval(() => {
          const m = /PORT (\d+)/.exec(out)
          if (!m && srv.exitCode == null) return
          clearInterval(t)
          if (m) resolve(Number(m[1]))
          else reject(new Error(`the ${spec} server exited: ${out}`))
        }, 50)
      })
      const clientArgs = (seconds) => ['-c', '0', client, ...echoClientArgs(port, a.conns, a.size, seconds)]
      if (Number(a.warmup) > 0) {
        const w = spawn('taskset', clientArgs(a.warmup), { stdio: 'ignore' })
        await new Promise((resolve) => w.on('exit', resolve))
      }
      const args = [...clientArgs(a.seconds), ...(a.why ? ['--dump', whyFile('client')] : [])]
      const pass = await runAsync('taskset', args, (Number(a.seconds) + 60) * 1000)
      const [got, clErr] = [pass.stdout, pass.stderr]
      srv.kill('SIGTERM')
      await new Promise((resolve) => srv.on('exit', resolve))
      const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
      console.log(`round ${r + 1} ${spec} (load ${load})\n  ${got.trim()}`)
      for (const line of out.split('\n'))
        if (line && !line.startsWith('PORT') && (a.verbose || !line.startsWith('  t'))) console.log(`  ${line}`)
      if (a.why) {
        why(clErr, Number(a.conns))
        if (a.verbose)
          for (const side of ['client', 'server']) fs.copyFileSync(whyFile(side), `${whyFile(side)}.${r + 1}-${kind}`)
      }
    }
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function whyFile(side) {
  return `${os.tmpdir()}/echo-tail-why-${process.pid}.${side}`
}

/** --why: the slowest 1 % of the run's requests, by cause (see the header). */
function why(clientStderr, conns) {
  const m = /start (\d+) us/.exec(clientStderr)
  if (!m) return console.log(`  why: no start time from echo_client: ${clientStderr.trim()}`)
  const t0 = Number(m[1])
  const raw = fs.readFileSync(whyFile('client'))
  const words = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4)
  const n = words.length / 3
  const srv = JSON.parse(fs.readFileSync(whyFile('server'), 'utf8'))
  // Server times (Unix us) to the client's clock: us after its measurement's start.
  const gcs = srv.gc.map(([at, dur, kind]) => [at - t0, at - t0 + dur, kind])
  const reqs = []
  const seen = new Set()
  for (let i = 0; i < n; i++) {
    const conn = words[3 * i]
    const end = words[3 * i + 1]
    const lat = words[3 * i + 2]
    const first = !seen.has(conn)
    seen.add(conn)
    let inGc = 0
    const kinds = new Set()
    for (const [a, b, kind] of gcs) {
      const o = Math.min(b, end) - Math.max(a, end - lat)
      if (o > 0) {
        inGc += o
        kinds.add(kind)
      }
    }
    reqs.push({ conn, end, lat, first, inGc, kinds })
  }
  const p99 = (arr) => {
    const s = Float64Array.from(arr).sort()
    return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] / 1000
  }
  const sorted = [...reqs].sort((x, y) => y.lat - x.lat)
  const top = sorted.slice(0, Math.max(1, Math.ceil(n / 100)))
  const cut = top.at(-1).lat
  const byKind = {}
  for (const r of top) for (const k of r.kinds) byKind[k] = (byKind[k] ?? 0) + 1
  const gcMs = top.reduce((x, r) => x + r.inGc, 0)
  const latMs = top.reduce((x, r) => x + r.lat, 0)
  const firsts = reqs.filter((r) => r.first)
  const when = new Map()
  for (const r of top) {
    const b = Math.floor(r.end / 250e3) * 250
    when.set(b, (when.get(b) ?? 0) + 1)
  }
  const names = { 1: 'scavenge', 4: 'mark-compact', 8: 'incremental', 16: 'weak callbacks' }
  console.log(
    `  why: ${n} requests, p99 ${p99(reqs.map((r) => r.lat)).toFixed(1)} ms; without each connection's first ${p99(reqs.filter((r) => !r.first).map((r) => r.lat)).toFixed(1)} ms; ` +
      `with gc pauses taken out ${p99(reqs.map((r) => r.lat - r.inGc)).toFixed(1)} ms; first requests: ${firsts.length}, ` +
      `slowest ${(Math.max(...firsts.map((r) => r.lat)) / 1000).toFixed(1)} ms, p50 ${(firsts.map((r) => r.lat).sort((x, y) => x - y)[firsts.length >> 1] / 1000).toFixed(1)} ms`
  )
  const late = reqs.filter((r) => r.end - r.lat > 1e6).map((r) => r.lat / 1000)
  late.sort((x, y) => x - y)
  const share = (ms) => ((100 * reqs.filter((r) => r.end - r.lat <= ms * 1e3).length) / n).toFixed(1)
  // Spread that a slow moment of the whole server (gc, the machine's other tenants) does not
  // make: each request's time over the median of the requests that ended in the same 50 ms.
  const win = new Map()
  for (const r of reqs)
    if (r.end - r.lat > 1e6)
      (win.get(Math.floor(r.end / 50e3)) ?? win.set(Math.floor(r.end / 50e3), []).get(Math.floor(r.end / 50e3))).push(
        r.lat
      )
  const rel = []
  for (const lats of win.values()) {
    const med = Float64Array.from(lats).sort()[lats.length >> 1]
    for (const l of lats) rel.push(l / med)
  }
  rel.sort((x, y) => x - y)
  if (late.length)
    console.log(
      `  why: after the first second, each request over the median of its 50 ms: p90 ${rel[Math.floor(rel.length * 0.9)].toFixed(2)} p99 ${rel[Math.floor(rel.length * 0.99)].toFixed(2)} p99.9 ${rel[Math.floor(rel.length * 0.999)].toFixed(2)}`
    )
  if (late.length)
    console.log(
      `  why: requests sent after the run's first second: ${late.length}, mean ${(late.reduce((x, y) => x + y, 0) / late.length).toFixed(1)} p50 ${late[late.length >> 1].toFixed(1)} p99 ${late[Math.floor(late.length * 0.99)].toFixed(1)} ms; ` +
        `share of all requests sent in the first 100 / 250 / 500 ms: ${share(100)} / ${share(250)} / ${share(500)} %`
    )
  console.log(
    `  why: slowest 1 % (${top.length}, from ${(cut / 1000).toFixed(1)} ms): first requests ${top.filter((r) => r.first).length}, ` +
      `overlapping a gc pause ${top.filter((r) => r.inGc > 0).length} (${Object.entries(byKind)
        .map(([k, v]) => `${names[k] ?? k} ${v}`)
        .join(', ')}), time in gc pauses ${((100 * gcMs) / latMs).toFixed(1)} %; ended in the run's 250 ms slices: ${[
        ...when
      ]
        .sort((x, y) => x[0] - y[0])
        .map(([b, c]) => `${b}:${c}`)
        .join(' ')}`
  )
  if (srv.accepted.length) {
    const acc = srv.accepted.slice(-conns).map((t) => (t - t0) / 1000)
    const fst = srv.firstAt
      .slice(-conns)
      .map((t) => (t - t0) / 1000)
      .sort((x, y) => x - y)
    console.log(
      `  why: the measured pass's ${acc.length} accepts from ${acc[0].toFixed(1)} to ${acc.at(-1).toFixed(1)} ms; its first messages reached JS from ${fst[0].toFixed(1)} to ${fst.at(-1).toFixed(1)} ms (p50 ${fst[fst.length >> 1].toFixed(1)})`
    )
  }
  const pauses = srv.gc.filter(([, dur]) => dur >= 1000)
  const gaps = srv.idle.sort((x, y) => y[1] - x[1]).slice(0, 5)
  console.log(
    `  why: server gc ${srv.gc.length} (${(srv.gc.reduce((x, g) => x + g[1], 0) / 1000).toFixed(0)} ms; ${pauses.length} of 1 ms or more, longest ${(Math.max(0, ...srv.gc.map((g) => g[1])) / 1000).toFixed(1)} ms); ` +
      `longest gaps between message batches (ms at ms): ${gaps.map(([at, d]) => `${(d / 1000).toFixed(1)}@${((at - t0) / 1000).toFixed(0)}`).join(' ')}`
  )
}

/** The server: echoes on the loopback, counts, prints its figures on SIGTERM. */
async function serve(kind, size, dist, whyPath, warmupConns) {
  const core = kind === 'node' ? null : await import(`${dist}index.js`)
  const conns = []
  const gaps = new Uint32Array(2000) // 1 ms buckets
  const stamps = new Float64Array(1 << 20)
  const who = new Uint32Array(whyPath ? 1 << 20 : 0)
  let nstamps = 0
  let msgs = 0
  let lastAt = 0
  let measuring = false
  const accepted = []
  const track = () => {
    if (whyPath) accepted.push(performance.now())
    // After a warm-up pass on connections of its own: the figures cover the measured pass only
    // (peak RSS and the --why dumps excepted).
    if (warmupConns > 0 && conns.length === warmupConns && !measuring) {
      measuring = true
      conns.length = 0
      gaps.fill(0)
      nstamps = msgs = lastAt = 0
      cpu0 = process.cpuUsage()
    }
    const c = { bytes: 0, last: 0, first: 0, n: 0, id: conns.length }
    conns.push(c)
    return (len) => {
      for (c.bytes += len; c.bytes >= size; c.bytes -= size) {
        const now = performance.now()
        if (c.last) gaps[Math.min(1999, Math.floor(now - c.last))]++
        else c.first = now
        c.last = now
        lastAt = now
        c.n++
        msgs++
        if (nstamps < stamps.length) {
          if (whyPath) who[nstamps] = c.id
          stamps[nstamps++] = now
        }
      }
    }
  }
  const say = (port) => process.stderr.write(`PORT ${port}\n`)
  if (kind === 'conn') {
    const { Connection } = await import(`${dist}net/connection.js`)
    const { Listener } = await import(`${dist}net/listener.js`)
    const l = new Listener({ host: '127.0.0.1', port: 0 }, 4096, {
      onConnection(fd) {
        const t = track()
        const c = new Connection(fd, {
          onData: (d) => {
            t(d.length)
            c.write(d)
          },
          onEnd: () => c.close(),
          onError: () => c.close()
        })
        c.resume()
      }
    })
    say(l.address().port)
  } else {
    const m = kind === 'node' ? net : await import(`${dist}net/index.js`)
    const srv = m.createServer({ noDelay: true }, (s) => {
      const t = track()
      s.on('data', (d) => {
        t(d.length)
        s.write(d)
      })
      s.on('error', () => s.destroy())
    })
    srv.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => say(srv.address().port))
  }
  const gc = { n: 0, ms: 0 }
  const unixUs = (t) => Math.round((performance.timeOrigin + t) * 1000)
  const gcLog = []
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gc.n++
      gc.ms += e.duration
      if (whyPath) gcLog.push([unixUs(e.startTime), Math.round(e.duration * 1000), e.detail?.kind ?? e.kind])
    }
  }).observe({ entryTypes: ['gc'] })
  const eld = monitorEventLoopDelay({ resolution: 1 })
  eld.enable()
  const sched = () => fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number)
  let prev = { sched: sched(), elu: performance.eventLoopUtilization(), msgs: 0, starved: 0 }
  let cpu0 = process.cpuUsage()
  setInterval(() => {
    if (!msgs) return
    const s = sched()
    const starved = core?.stats().recvStarved ?? 0
    const elu = performance.eventLoopUtilization(prev.elu).utilization
    console.log(
      `  t ${msgs - prev.msgs} msgs, loop busy ${(elu * 100).toFixed(0)}%, on a CPU ${((s[0] - prev.sched[0]) / 5e6).toFixed(0)}%, ` +
        `waiting for one ${((s[1] - prev.sched[1]) / 5e6).toFixed(0)}%, loop delay max ${(eld.max / 1e6).toFixed(0)} ms, ` +
        `gc ${gc.n} (${gc.ms.toFixed(0)} ms), starved ${starved - prev.starved}`
    )
    eld.reset()
    gc.n = gc.ms = 0
    prev = { sched: s, elu: performance.eventLoopUtilization(), msgs, starved }
  }, 500).unref()
  process.on('SIGTERM', () => {
    const cu = process.cpuUsage(cpu0)
    const q = (arr, p) => arr[Math.min(arr.length - 1, Math.floor(arr.length * p))]
    // Percentiles (ms) of a histogram of 1 ms buckets; the last bucket is "2 s or more".
    const pct = (h) => {
      const total = h.reduce((x, y) => x + y, 0)
      return (p) => {
        let acc = 0
        for (let i = 0; i < h.length; i++) {
          acc += h[i]
          if (acc >= total * p) return i
        }
        return h.length
      }
    }
    const gapAt = pct(gaps)
    // A connection the server leaves waiting has few gaps or none: its waits are before its
    // first message (counted from the run's first message: the client sends on every
    // connection at once, accepted or not) and after its last one (until the run's last
    // message). The "with waits" figures count those two in; the plain ones do not. Per
    // connection, the run over its messages is its mean round trip (Little's law).
    const firstAt = stamps[0]
    const waits = Uint32Array.from(gaps)
    for (const c of conns) {
      for (const w of [c.n ? c.first - firstAt : 0, lastAt - (c.last || firstAt)])
        waits[Math.min(1999, Math.max(0, Math.floor(w)))]++
    }
    const waitAt = pct(waits)
    const lastWait = Math.max(...conns.map((c) => lastAt - (c.last || firstAt)))
    const mean = conns.map((c) => (lastAt - firstAt) / Math.max(1, c.n)).sort((x, y) => x - y)
    const per = conns.map((c) => c.n).sort((x, y) => x - y)
    const firsts = conns.map((c) => c.first).sort((x, y) => x - y)
    const sizes = []
    let start = 0
    for (let i = 1; i <= nstamps; i++) {
      if (i === nstamps || stamps[i] - stamps[i - 1] > 0.3) {
        sizes.push(i - start)
        start = i
      }
    }
    sizes.sort((x, y) => x - y)
    const st = core?.stats()
    if (whyPath && st)
      console.log(
        `stats per message: ${['opsSubmitted', 'opsCompleted', 'enterCalls', 'batches', 'recvStarved'].map((k) => `${k} ${(st[k] / msgs).toFixed(3)}`).join(', ')}`
      )
    if (whyPath) {
      // Gaps between batches (runs of messages under 0.3 ms apart): [start of the gap, length].
      const idle = []
      for (let i = 1; i < nstamps; i++)
        if (stamps[i] - stamps[i - 1] > 0.3)
          idle.push([unixUs(stamps[i - 1]), Math.round((stamps[i] - stamps[i - 1]) * 1000)])
      const firstAt = conns.map((c) => unixUs(c.first))
      fs.writeFileSync(whyPath, JSON.stringify({ gc: gcLog, idle, accepted: accepted.map(unixUs), firstAt }))
      if (process.env.ECHO_TAIL_STAMPS)
        fs.writeFileSync(
          process.env.ECHO_TAIL_STAMPS,
          JSON.stringify({
            at: Array.from(stamps.subarray(0, nstamps), unixUs),
            who: Array.from(who.subarray(0, nstamps))
          })
        )
    }
    console.log(
      `server: ${msgs} msgs, CPU ${((cu.user + cu.system) / msgs).toFixed(2)} us/msg, peak RSS ${process.resourceUsage().maxRSS >> 10} MiB, ` +
        `starved ${st?.recvStarved ?? '-'}, buffers most ${st?.recvBuffersMost ?? '-'}`
    )
    console.log(
      `fairness: msgs per connection min ${per[0]} p10 ${q(per, 0.1)} p50 ${q(per, 0.5)} p90 ${q(per, 0.9)} max ${per.at(-1)}; first message spread ${(firsts.at(-1) - firsts[0]).toFixed(0)} ms; ` +
        `first 1,000 messages in ${(stamps[Math.min(999, nstamps - 1)] - stamps[0]).toFixed(0)} ms`
    )
    console.log(
      `gaps between a connection's messages: p50 ${gapAt(0.5)} p99 ${gapAt(0.99)} p99.9 ${gapAt(0.999)} ms; ` +
        `batches ${sizes.length}, messages p50 ${q(sizes, 0.5)} p90 ${q(sizes, 0.9)} max ${sizes.at(-1)}`
    )
    const starvedConns = per.filter((n) => n * 10 < q(per, 0.5)).length
    console.log(
      `with waits before the first and after the last message: gaps p99 ${waitAt(0.99)} p99.9 ${waitAt(0.999)} ms (1999: 2 s or more), ` +
        `last wait max ${lastWait.toFixed(0)} ms; per connection mean round trip p50 ${q(mean, 0.5).toFixed(1)} ` +
        `p99 ${q(mean, 0.99).toFixed(1)} max ${mean.at(-1).toFixed(0)} ms; connections served under a tenth of the median ${starvedConns}`
    )
    process.exit(0)
  })
}
