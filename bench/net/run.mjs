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
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { spawn, spawnSync } from 'node:child_process'
import { log } from '../util.mjs'

const REPO = path.resolve(new URL('../..', import.meta.url).pathname)
const SERVER = path.join(REPO, 'bench/net/server.mjs')
const ANCHOR = path.join(REPO, 'bench/net/anchor-server.js')
const IDLE_CLIENT = path.join(REPO, 'bench/net/idle-client.mjs')
/** Descriptors for the idle-connections row (10,000 connections + the process's own). */
const IDLE_NOFILE = 20_000
const HOST = '127.0.0.1'
const TICK = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const tmpFile = (name) => path.join(os.tmpdir(), `boros-bench-${process.pid}-${name}`)

/** CPU sets for the server and the client: separate cores when there are two or more. */
export function cpuSets(cfg = {}) {
  const workers = cfg.workers ?? 1
  const n = os.cpus().length
  if (!which('taskset') || n < 2) return { server: null, client: null, note: 'not pinned (no taskset or one core)' }
  // Scaling runs (2+ workers) need every core for the server: nothing is pinned then, and the
  // client shares the cores (said in the table's note).
  if (cfg.scaling)
    return { server: null, client: null, note: `scaling: ${workers} worker(s), server and client share all ${n} cores` }
  return { server: String(n - 1), client: '0', note: `server on core ${n - 1}, client on core 0` }
}
const pinned = (cpus, cmd, args) => (cpus != null ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args])

// ------------------------------------------------------------ externals --

/** Builds (when missing or stale) the native echo examples. Returns { client, server } or { skip }. */
export function ensureEchoExamples({ build = true } = {}) {
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.join(REPO, 'target')
  const names = ['echo_client', 'echo_server']
  const bins = Object.fromEntries(names.map((n) => [n, path.join(targetDir, 'release/examples', n)]))
  const stale = names.some((n) => {
    const src = path.join(REPO, `crates/boros/examples/${n}.rs`)
    return !fs.existsSync(bins[n]) || (fs.existsSync(src) && fs.statSync(bins[n]).mtimeMs < fs.statSync(src).mtimeMs)
  })
  if (stale && build && which('cargo')) {
    log('[native] cargo build --release -p boros --example echo_client --example echo_server ...')
    const r = spawnSync(
      'cargo',
      ['build', '--release', '-p', 'boros', '--example', 'echo_client', '--example', 'echo_server'],
      {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 600_000,
        maxBuffer: 64 << 20
      }
    )
    if (r.status !== 0) log(`[native] build failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`)
  }
  if (!fs.existsSync(bins.echo_client))
    return { skip: 'echo: the native load generator (crates/boros/examples/echo_client.rs) could not be built' }
  return { client: bins.echo_client, server: fs.existsSync(bins.echo_server) ? bins.echo_server : null }
}

/** wrk, installed from Debian's package when missing and we are root (CI does it too). */
export function ensureWrk({ install = true } = {}) {
  let bin = which('wrk')
  if (!bin && install && process.getuid?.() === 0 && which('apt-get')) {
    log('[http] wrk missing: apt-get install -y wrk ...')
    spawnSync(
      'sh',
      [
        '-c',
        'apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1)'
      ],
      {
        timeout: 300_000
      }
    )
    bin = which('wrk')
  }
  return bin ? { bin } : { skip: 'http: wrk is not installed (apt-get install wrk) and could not be installed here' }
}

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

// --------------------------------------------------------------- client --

function runAsync(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (status, signal) => {
      clearTimeout(t)
      resolve({ status, signal, stdout, stderr })
    })
  })
}

/** One pass of the echo load generator. */
async function echoClient(p, cfg, port, seconds) {
  const cpus = cpuSets(cfg)
  const [cmd, args] = pinned(cpus.client, p.echoClient, [
    '--addr',
    `${HOST}:${port}`,
    '--conns',
    String(cfg.conns),
    '--size',
    String(cfg.size),
    '--seconds',
    String(seconds)
  ])
  const r = await runAsync(cmd, args, (seconds + 60) * 1000)
  const m =
    /([\d.]+) s: (\d+) requests, (\d+) req\/s, latency p50 (\d+) us, p99 (\d+) us, max (\d+) us, client CPU ([\d.]+) s/.exec(
      r.stdout
    )
  if (r.status !== 0 || !m)
    throw new Error(`echo_client exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-300)}`)
  return {
    seconds: Number(m[1]),
    ops: Number(m[2]),
    bytes: Number(m[2]) * cfg.size,
    p50Us: Number(m[4]),
    p99Us: Number(m[5]),
    maxUs: Number(m[6]),
    clientCpuSeconds: Number(m[7]),
    errors: 0
  }
}

const US = { us: 1, ms: 1e3, s: 1e6 }
const toUs = (v, u) => Number(v) * US[u]

/** One pass of wrk (one thread; keep-alive is wrk's default). */
async function httpClient(p, cfg, port, seconds) {
  const cpus = cpuSets(cfg)
  const timeOut = tmpFile('wrk-time.txt')
  const wrkArgs = [
    '-t1',
    `-c${cfg.conns}`,
    `-d${Math.max(1, Math.round(seconds))}s`,
    '--latency',
    '--timeout',
    '10s',
    `http://${HOST}:${port}${cfg.path}`
  ]
  let script = null
  if (cfg.method === 'POST') {
    // wrk sends a body only from a Lua script: the same postBytes on every request.
    script = tmpFile('wrk-post.lua')
    fs.writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = string.rep("a", ${cfg.postBytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`
    )
    wrkArgs.splice(wrkArgs.length - 1, 0, '-s', script)
  }
  const inner = ['/usr/bin/time', ['-f', '%U %S %e', '-o', timeOut, p.wrk, ...wrkArgs]]
  const [cmd, args] = fs.existsSync('/usr/bin/time')
    ? pinned(cpus.client, ...inner)
    : pinned(cpus.client, p.wrk, wrkArgs)
  const r = await runAsync(cmd, args, (seconds + 60) * 1000)
  let cpu = null
  try {
    const [u, s] = fs.readFileSync(timeOut, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number)
    cpu = u + s
  } catch {}
  fs.rmSync(timeOut, { force: true })
  if (script) fs.rmSync(script, { force: true })
  const o = r.stdout
  const total = /(\d+) requests in ([\d.]+)(us|ms|s)/.exec(o)
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)/m.exec(o)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)/m.exec(o)
  if (r.status !== 0 || !total)
    throw new Error(`wrk exit ${r.status ?? r.signal}: ${(r.stderr || o).trim().slice(-300)}`)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(o)
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(o)
  const errors = (non2xx ? Number(non2xx[1]) : 0) + (sockErr ? sockErr.slice(1).reduce((n, x) => n + Number(x), 0) : 0)
  const ops = Number(total[1])
  return {
    seconds: toUs(total[2], total[3]) / 1e6,
    ops,
    bytes: ops * (cfg.bodyBytes ?? 0),
    p50Us: p50 ? toUs(p50[1], p50[2]) : null,
    p99Us: p99 ? toUs(p99[1], p99[2]) : null,
    clientCpuSeconds: cpu,
    errors,
    errorDetail: sockErr ? sockErr[0] : non2xx ? non2xx[0] : null
  }
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

/** A 64 KiB file for the http workload's static-file path, made once. */
export function ensureHttpFile(dataDir) {
  const file = path.join(dataDir, 'http-64KiB.bin')
  if (!fs.existsSync(file) || fs.statSync(file).size !== 64 * 1024) {
    const b = Buffer.alloc(64 * 1024)
    for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff
    fs.writeFileSync(file, b)
  }
  return file
}

export { sleep }
