// The load generators of the network benchmarks: one pass of echo_client or of wrk, parsed.
import fs from 'node:fs'
import { spawn } from 'node:child_process'
import { HOST, tmpFile, cpuSets, pinned } from './common.mjs'

/** Runs `cmd` to its exit (killed after `timeoutMs`): `{ status, signal, stdout, stderr }`. */
export function runAsync(cmd, args, timeoutMs) {
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

/** `echo_client`'s arguments for one pass of `conns` connections echoing `size` bytes to `port`. */
export const echoClientArgs = (port, conns, size, seconds) => [
  '--addr',
  `${HOST}:${port}`,
  '--conns',
  String(conns),
  '--size',
  String(size),
  '--seconds',
  String(seconds)
]

/** One pass of the echo load generator. */
export async function echoClient(p, cfg, port, seconds) {
  const cpus = cpuSets(cfg)
  const [cmd, args] = pinned(cpus.client, p.echoClient, echoClientArgs(port, cfg.conns, cfg.size, seconds))
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
export async function httpClient(p, cfg, port, seconds) {
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
