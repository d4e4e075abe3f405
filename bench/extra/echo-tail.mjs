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
//                                  [--seconds 3] [--rounds 1] [--dist DIR] [--verbose]
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
import { ensureEchoExamples } from '../net/externals.mjs'

if (process.argv[2] === '--serve') await serve(process.argv[3], Number(process.argv[4]), process.argv[5])
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
      verbose: { type: 'boolean', default: false }
    }
  })
  const { client, skip } = ensureEchoExamples()
  if (skip) throw new Error(skip)
  const last = String(os.cpus().length - 1)
  const kinds = a.kinds.split(',')
  for (let r = 0; r < Number(a.rounds); r++) {
    for (const spec of r % 2 ? [...kinds].reverse() : kinds) {
      const [kind, dir] = spec.split('@')
      const dist = dir ? `${dir.replace(/\/$/, '')}/dist/` : a.dist
      const srv = spawn('taskset', [
        '-c',
        last,
        process.execPath,
        new URL(import.meta.url).pathname,
        '--serve',
        kind,
        a.size,
        dist
      ])
      let out = ''
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
      const args = [
        '-c',
        '0',
        client,
        '--addr',
        `127.0.0.1:${port}`,
        '--conns',
        a.conns,
        '--size',
        a.size,
        '--seconds',
        a.seconds
      ]
      const cl = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] })
      let got = ''
      cl.stdout.on('data', (d) => (got += d))
      await new Promise((resolve) => cl.on('exit', resolve))
      srv.kill('SIGTERM')
      await new Promise((resolve) => srv.on('exit', resolve))
      const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
      console.log(`round ${r + 1} ${spec} (load ${load})\n  ${got.trim()}`)
      for (const line of out.split('\n'))
        if (line && !line.startsWith('PORT') && (a.verbose || !line.startsWith('  t'))) console.log(`  ${line}`)
    }
  }
}

/** The server: echoes on the loopback, counts, prints its figures on SIGTERM. */
async function serve(kind, size, dist) {
  const core = kind === 'node' ? null : await import(`${dist}index.js`)
  const conns = []
  const gaps = new Uint32Array(2000) // 1 ms buckets
  const stamps = new Float64Array(1 << 20)
  let nstamps = 0
  let msgs = 0
  let lastAt = 0
  const track = () => {
    const c = { bytes: 0, last: 0, first: 0, n: 0 }
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
        if (nstamps < stamps.length) stamps[nstamps++] = now
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
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gc.n++
      gc.ms += e.duration
    }
  }).observe({ entryTypes: ['gc'] })
  const eld = monitorEventLoopDelay({ resolution: 1 })
  eld.enable()
  const sched = () => fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number)
  let prev = { sched: sched(), elu: performance.eventLoopUtilization(), msgs: 0, starved: 0 }
  const cpu0 = process.cpuUsage()
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
