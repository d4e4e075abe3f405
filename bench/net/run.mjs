// Network workloads (echo, http): one server contender in its own process pinned to one
// core, an external load generator pinned to the other, and the measurements around them.
//
// Per run: start the server (bench/net/server.mjs, or the native echo_server), a warm-up
// pass of the load generator, then the measured pass. Server CPU comes from
// /proc/<pid>/stat over the measured pass (all threads), peak RSS from /proc/<pid>/status
// (VmHWM), io_uring_enter from boros' stats() (the native server prints its own count), the
// client's CPU from the client (echo_client prints it; wrk runs under /usr/bin/time).
// The optional strace pass runs the server under `strace -f -c` for a short client pass and
// counts every system call per request.
import fs from 'node:fs'
import path from 'node:path'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { REPO, HOST, sleep, tmpFile, cpuSets, pinned } from './common.mjs'
import { echoClient, httpClient } from './clients.mjs'
export { ensureEchoExamples, ensureHttpFile, ensureWrk } from './externals.mjs'

const SERVER = path.join(REPO, 'bench/net/server.mjs')
const ANCHOR = path.join(REPO, 'bench/net/anchor-server.js')
const IDLE_CLIENT = path.join(REPO, 'bench/net/idle-client.mjs')
/** Descriptors for the idle-connections row (10,000 connections + the process's own). */
const IDLE_NOFILE = 20_000
const TICK = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, HOST, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function procCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICK // utime, stime
  } catch {
    return null
  }
}
function procHwm(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

// --------------------------------------------------------------- server --

/**
 * Starts a server contender. Returns { pid, port, stats(), stop() } or { skip }.
 * `wrap`: a command prefix (strace) put in front of the server.
 */
async function startServer(def, cfg, p, { wrap = null, nativeSeconds = 0 } = {}) {
  const cpus = cpuSets(cfg)
  let cmd
  let args
  let port
  if (def.external === 'native-echo') {
    if (!p.echoServer) return { skip: 'native echo server not built' }
    port = await freePort()
    ;[cmd, args] = pinned(cpus.server, p.echoServer, ['--addr', `${HOST}:${port}`, '--seconds', String(nativeSeconds)])
  } else if (def.external === 'anchor-bun' || def.external === 'anchor-deno') {
    const a = def.external === 'anchor-bun' ? p.anchors?.bun : p.anchors?.deno
    if (!a?.bin) return { skip: a?.skip ?? `${def.external}: not installed` }
    const spec = JSON.stringify({ file: p.httpFile })
    const rtArgs = def.external === 'anchor-bun' ? [ANCHOR, spec] : ['run', '-A', ANCHOR, spec]
    ;[cmd, args] = pinned(cpus.server, a.bin, rtArgs)
  } else {
    const spec = { server: def.server, port: 0, workers: cfg.workers ?? 1, file: p.httpFile }
    ;[cmd, args] = pinned(cpus.server, p.nodeBin, [SERVER, JSON.stringify(spec)])
  }
  // The idle-connections row needs more descriptors than the default 1,024: raised in a shell
  // that then execs the server (same pid, so /proc still reads the server).
  if (cfg.idle) [cmd, args] = ['sh', ['-c', `ulimit -n ${IDLE_NOFILE} && exec "$@"`, 'sh', cmd, ...args]]
  if (wrap) [cmd, args] = [wrap[0], [...wrap.slice(1), cmd, ...args]]
  // Under a wrapper (strace -f) the server is the wrapper's child: the pair gets its own process
  // group, and signals go to the group. A signal to strace alone detaches it and leaves the
  // server running (an orphan that kept this run's pipes open, so the run never exited).
  const child = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...def.env },
    detached: Boolean(wrap)
  })
  const kill = (sig) => {
    try {
      if (wrap) process.kill(-child.pid, sig)
      else child.kill(sig)
    } catch {}
  }
  let out = ''
  let err = ''
  const waiters = []
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (d) => {
    out += d
    for (const w of [...waiters]) w()
  })
  child.stderr.on('data', (d) => {
    err += d
    for (const w of [...waiters]) w()
  })
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)))
  const waitFor = (re, ms) =>
    new Promise((resolve) => {
      const t = setTimeout(() => done(null), ms)
      const check = () => {
        const m = re.exec(out) ?? re.exec(err)
        if (m) done(m)
      }
      const done = (m) => {
        clearTimeout(t)
        waiters.splice(waiters.indexOf(check), 1)
        resolve(m)
      }
      waiters.push(check)
      exited.then(() => check() || done(re.exec(out) ?? re.exec(err)))
      check()
    })
  const first = await waitFor(
    def.external === 'native-echo' ? /echo_server listening/ : /^(LISTENING (\d+)|SKIP (.*)|ERROR (.*))$/m,
    20_000
  )
  if (!first) {
    kill('SIGKILL')
    throw new Error(`server did not start: ${(out + err).trim().slice(-300)}`)
  }
  if (first[3]) return { skip: first[3] }
  if (first[4]) throw new Error(first[4].slice(0, 300))
  if (first[2]) port = Number(first[2])
  // With a wrapper (strace) the server's pid is the wrapper's child: CPU/RSS are not read then.
  const pid = wrap ? null : child.pid
  let statsSeen = 0
  const statLines = () => [...out.matchAll(/^STATS (.*)$/gm)]
  const stats = async () => {
    if (def.external) return null
    const want = ++statsSeen
    child.stdin.write('stats\n')
    for (let t = 0; t < 1000 && statLines().length < want; t++) await sleep(10)
    const all = statLines()
    return all.length >= want ? JSON.parse(all[want - 1][1]) : null
  }
  const stop = async () => {
    if (def.external === 'native-echo') {
      const t = setTimeout(() => kill('SIGKILL'), (nativeSeconds + 30) * 1000)
      await exited
      clearTimeout(t)
    } else if (def.external) {
      kill('SIGTERM')
      const t = setTimeout(() => kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(t)
    } else {
      child.stdin.write('exit\n')
      const t = setTimeout(() => kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
    return { out, err }
  }
  return { pid, port, stats, stop, child }
}

// -------------------------------------------------------------- measure --

/** Counts system calls of a whole server process per request, under `strace -f -c`. */
async function straceNet(w, def, cfg, p) {
  const out = tmpFile('strace-net.txt')
  const seconds = p.straceSeconds
  let srv
  try {
    srv = await startServer(def, cfg, p, {
      wrap: ['strace', '-f', '-c', '-o', out],
      nativeSeconds: Math.ceil(seconds) + 2
    })
  } catch {
    return null
  }
  if (srv.skip) return null
  let c
  try {
    c = await (w.name === 'echo' ? echoClient : httpClient)(p, cfg, srv.port, seconds)
  } catch {
    c = null
  }
  await srv.stop()
  let calls = null
  let enters = null
  try {
    for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
      const t = line.trim().split(/\s+/)
      const name = t[t.length - 1]
      // "% time seconds usecs/call calls [errors] syscall"; the total line has "total".
      if (name === 'total') calls = Number(t[3])
      if (name === 'io_uring_enter') enters = Number(t[3])
    }
  } catch {}
  fs.rmSync(out, { force: true })
  if (!c || !c.ops || calls == null) return null
  return { syscallsPerOp: calls / c.ops, entersPerOp: (enters ?? 0) / c.ops }
}

function procRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/**
 * The idle-connections row: the server's RSS with `cfg.idle` keep-alive connections open and
 * idle (each has had one request answered), from a raw-socket client in its own process
 * (bench/net/idle-client.mjs) with its descriptor limit raised.
 */
async function measureIdle(def, cfg, p) {
  const srv = await startServer(def, cfg, p)
  if (srv.skip) return { skipped: srv.skip }
  try {
    await sleep(300)
    const before = procRss(srv.pid)
    const cpus = cpuSets(cfg)
    const [cmd, args] = pinned(cpus.client, p.nodeBin, [IDLE_CLIENT, String(srv.port), String(cfg.idle), cfg.path])
    const child = spawn('sh', ['-c', `ulimit -n ${IDLE_NOFILE} && exec "$@"`, 'sh', cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    const t0 = Date.now()
    while (!/^(READY|FAILED)/m.test(out) && Date.now() - t0 < 120_000 && child.exitCode == null) await sleep(50)
    const ready = /^READY (\d+) ([\d.]+)/m.exec(out)
    if (!ready) {
      child.kill('SIGKILL')
      throw new Error(`idle client: ${(out + err).trim().slice(-300)}`)
    }
    await sleep(500) // let the server settle (GC of the request garbage)
    const idle = procRss(srv.pid)
    child.stdin.end('close\n')
    await exited
    const conns = Number(ready[1])
    return {
      idle: true,
      net: true,
      ops: conns,
      seconds: Number(ready[2]),
      rssBeforeKiB: before,
      rssIdleKiB: idle,
      perConnKiB: before != null && idle != null ? (idle - before) / conns : null,
      pinning: cpuSets(cfg).note
    }
  } finally {
    await srv.stop()
  }
}

/** One measured run of a network contender. Returns the result record (or { skipped }). */
export async function measureNet(w, def, cfg, p, { strace = false } = {}) {
  if (cfg.idle) return measureIdle(def, cfg, p)
  const client = w.name === 'echo' ? echoClient : httpClient
  const nativeSeconds = Math.ceil(p.warmup + p.seconds) + 2
  const srv = await startServer(def, cfg, p, { nativeSeconds })
  if (srv.skip) return { skipped: srv.skip }
  let r
  let s0
  let s1
  let cpu0
  let cpu1
  try {
    if (p.warmup > 0) await client(p, cfg, srv.port, w.name === 'http' ? 1 : p.warmup)
    s0 = await srv.stats()
    cpu0 = procCpu(srv.pid)
    r = await client(p, cfg, srv.port, p.seconds)
    cpu1 = procCpu(srv.pid)
    s1 = await srv.stats()
  } catch (e) {
    await srv.stop().catch(() => undefined)
    throw e
  }
  const hwm = procHwm(srv.pid)
  const { out } = await srv.stop()
  const res = {
    ...r,
    net: true,
    cpuSeconds: cpu0 != null && cpu1 != null ? cpu1 - cpu0 : null,
    maxRSSKiB: hwm ?? s1?.maxRSSKiB ?? null,
    clientCpuPct: r.clientCpuSeconds != null ? (100 * r.clientCpuSeconds) / r.seconds : null,
    pinning: cpuSets(cfg).note
  }
  res.serverCpuPct = res.cpuSeconds != null ? (100 * res.cpuSeconds) / r.seconds : null
  if (s0?.boros && s1?.boros) {
    res.enters = s1.boros.enterCalls - s0.boros.enterCalls
    res.entersPerOp = res.enters / r.ops
    res.entersSource = 'boros stats()'
    res.borosStats = Object.fromEntries(Object.keys(s1.boros).map((k) => [k, s1.boros[k] - s0.boros[k]]))
  } else if (def.external === 'native-echo') {
    // Its own count, over the warm-up and the measured pass: per echoed message.
    const m = /(\d+) bytes echoed, (\d+) io_uring_enter calls/.exec(out)
    if (m && Number(m[1]) > 0) {
      res.entersPerOp = Number(m[2]) / (Number(m[1]) / cfg.size)
      res.entersSource = 'native'
    }
  }
  if (strace) {
    const s = await straceNet(w, def, cfg, p)
    if (s) {
      res.syscallsPerOp = s.syscallsPerOp
      if (res.entersPerOp == null) {
        res.entersPerOp = s.entersPerOp
        res.entersSource = 'strace'
      }
    }
  }
  return res
}

export { cpuSets, sleep }
