// Where the peak RSS of a busy echo row lives (issue 21, docs/net.md "The peak at 1,000 busy
// 16 KiB connections, accounted again"): each server of bench/net/server.mjs is started as the
// suite starts it (pinned to core 1, `ulimit -n` raised), driven by the suite's echo_client on
// core 0 (a 0.5 s warm-up on connections of its own, then S seconds), and its /proc/PID/smaps
// is read every 50 ms from outside; the sample with the largest resident total is printed by
// kind of mapping (the kinds of bench/extra/idle-smaps.mjs), with the one before the load,
// VmHWM, and what the server itself saw at its largest RSS (this file, --import'ed into it,
// samples process.memoryUsage() and V8's heap spaces every 50 ms; gc counts by kind).
// Servers run in rounds, alternating, so the rows compare side by side on a loaded machine.
//
//   node bench/extra/peak-smaps.mjs [--conns 1000] [--size 16384] [--seconds 3] [--rounds 2]
//        [--node PATH] [--top] [--servers echo-node,echo-boros-net[@DIR],...]
//   (DIR: another checkout's build; --top lists the largest mappings of each peak)
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

if (process.env.PEAK_SMAPS_OUT) sampler(process.env.PEAK_SMAPS_OUT)
else await main()

/** In the server: the sample at the largest rss, written at exit. */
async function sampler(out) {
  const v8 = await import('node:v8')
  const { PerformanceObserver, constants } = await import('node:perf_hooks')
  const gcs = { minor: 0, major: 0 }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++
    }
  }).observe({ entryTypes: ['gc'] })
  let best = null
  setInterval(() => {
    const m = process.memoryUsage()
    if (best && m.rss <= best.rss) return
    const spaces = {}
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.physical_space_size
    best = { ...m, spaces }
  }, 50).unref()
  process.on('exit', () => fs.writeFileSync(out, JSON.stringify({ best, gcs })))
}

async function main() {
  const { ensureEchoExamples } = await import('../net/externals.mjs')
  const { serverPort } = await import('../net/common.mjs')
  const { echoClientArgs } = await import('../net/clients.mjs')
  const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`)
    return i > 0 ? process.argv[i + 1] : def
  }
  const NODE = arg('node', process.execPath)
  const ROUNDS = Number(arg('rounds', 2))
  const CONNS = arg('conns', '1000')
  const SIZE = arg('size', '16384')
  const SECONDS = arg('seconds', '3')
  const SERVERS = arg('servers', 'echo-node,echo-boros-net').split(',')
  const TOP = process.argv.includes('--top')
  const KINDS = ['node', 'addon', 'libs', 'io_uring', 'recvgroup', 'v8', 'v8-code', 'brk', 'arenas', 'other']
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const { client: CLIENT, skip } = ensureEchoExamples({ build: false })
  if (skip) throw new Error(skip)

  /** Resident KiB by kind of mapping, and the mappings. */
  function byKind(pid) {
    let text
    try {
      text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8')
    } catch {
      return null
    }
    const kinds = Object.fromEntries(KINDS.map((k) => [k, 0]))
    const maps = []
    let cur = null
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
      if (m) {
        const [, lo, hi, perm, name] = m
        const kib = (Number.parseInt(hi, 16) - Number.parseInt(lo, 16)) / 1024
        let kind = 'other'
        if (name.endsWith('.node')) kind = 'addon'
        else if (/\/node$/.test(name)) kind = 'node'
        else if (name.includes('io_uring')) kind = 'io_uring'
        else if (name === '[heap]') kind = 'brk'
        else if (name.startsWith('/')) kind = 'libs'
        else if (name !== '') kind = 'other'
        else if (perm === 'rwxp') kind = 'v8-code'
        else if (kib === 16384) kind = 'recvgroup'
        else if (kib === 256 && !lo.startsWith('7f')) kind = 'v8'
        else if (lo.startsWith('7f') && /000000$/.test(lo) && kib < 65536) kind = 'arenas'
        cur = { lo, kib, perm, name, kind, rss: 0 }
        maps.push(cur)
        continue
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line)
      if (rss && cur) {
        cur.rss = Number(rss[1])
        kinds[cur.kind] += cur.rss
      }
    }
    kinds.total = KINDS.reduce((a, k) => a + kinds[k], 0)
    return { kinds, maps }
  }

  async function measure(spec) {
    const [server, dir = REPO] = spec.split('@')
    const samples = path.join(os.tmpdir(), `peak-smaps-${process.pid}.json`)
    const srv = spawn(
      'sh',
      [
        '-c',
        'ulimit -n 20000 && exec taskset -c 1 "$@"',
        'sh',
        NODE,
        '--import',
        fileURLToPath(import.meta.url),
        path.join(path.resolve(dir), 'bench/net/server.mjs'),
        JSON.stringify({ server, port: 0, workers: 1 })
      ],
      { env: { ...process.env, PEAK_SMAPS_OUT: samples } }
    )
    const { port, skip } = await serverPort(srv)
    if (!port) return { skip }
    await sleep(300)
    const start = byKind(srv.pid)
    const client = (seconds) => spawn('taskset', ['-c', '0', CLIENT, ...echoClientArgs(port, CONNS, SIZE, seconds)])
    await new Promise((resolve) => client('0.5').on('exit', resolve))
    const c = client(SECONDS)
    let got = ''
    c.stdout.on('data', (d) => (got += d))
    let done = false
    c.on('exit', () => (done = true))
    let peak = start
    while (!done) {
      const s = byKind(srv.pid)
      if (s && s.kinds.total > peak.kinds.total) peak = s
      await sleep(50)
    }
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1])
    srv.stdin.end('exit\n')
    await new Promise((resolve) => srv.once('exit', resolve))
    const seen = JSON.parse(fs.readFileSync(samples, 'utf8'))
    fs.rmSync(samples, { force: true })
    return { start, peak, hwm, seen, got: got.trim().replace(/\s+/g, ' ') }
  }

  const mib = (kib) => (kib / 1024).toFixed(1)
  const row = (label, k) =>
    `  ${label.padEnd(6)}${KINDS.concat('total')
      .map((x) => mib(k[x]).padStart(10))
      .join('')}`
  console.log(`${NODE === process.execPath ? process.version : NODE}: ${CONNS} x ${SIZE} B, MiB resident`)
  for (let r = 0; r < ROUNDS; r++) {
    for (const spec of r % 2 ? [...SERVERS].reverse() : SERVERS) {
      const m = await measure(spec)
      if (m.skip) {
        console.log(`${spec}: skipped: ${m.skip}`)
        continue
      }
      const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
      console.log(`\n${spec} (round ${r + 1}, load ${load}): VmHWM ${mib(m.hwm)} MiB; ${m.got}`)
      console.log(
        `  ${''.padEnd(6)}${KINDS.concat('total')
          .map((k) => k.padStart(10))
          .join('')}`
      )
      console.log(row('start', m.start.kinds))
      console.log(row('peak', m.peak.kinds))
      const b = m.seen.best
      const s = b.spaces
      const M = (bytes) => mib(bytes / 1024)
      console.log(
        `  in the server at its largest rss (${M(b.rss)}): heap ${M(b.heapTotal)} (new ${M(s.new_space)}, old ${M(s.old_space)}, code ${M(s.code_space)}), external ${M(b.external)}, arrayBuffers ${M(b.arrayBuffers)}; gc minor/major ${m.seen.gcs.minor}/${m.seen.gcs.major}`
      )
      if (TOP)
        for (const x of m.peak.maps
          .filter((x) => x.rss >= 512)
          .sort((a, b) => b.rss - a.rss)
          .slice(0, 20))
          console.log(
            `    ${x.lo} ${String(x.kib).padStart(8)} KiB ${x.perm} rss ${String(x.rss).padStart(7)} KiB ${x.kind} ${x.name}`
          )
    }
  }
}
