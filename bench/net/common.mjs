// What the network benchmark modules share (run.mjs, clients.mjs, externals.mjs): the repo,
// the loopback host, tool lookup, temp files and CPU pinning.
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname)
export const HOST = '127.0.0.1'

export const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const tmpFile = (name) => path.join(os.tmpdir(), `boros-bench-${process.pid}-${name}`)

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
export const pinned = (cpus, cmd, args) => (cpus != null ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args])

/**
 * Waits for a bench server child (`bench/net/server.mjs`) to print `LISTENING <port>` (or `SKIP`,
 * `ERROR`): `{ port }`, or `{ skip }` with what it printed (the child is killed then).
 */
export async function serverPort(srv, timeoutMs = 20_000) {
  let out = ''
  srv.stdout.on('data', (d) => (out += d))
  srv.stderr.on('data', (d) => (out += d))
  const t0 = Date.now()
  while (!/^(LISTENING|SKIP|ERROR)/m.test(out) && Date.now() - t0 < timeoutMs) await sleep(20)
  const port = /^LISTENING (\d+)/m.exec(out)?.[1]
  if (port) return { port }
  srv.kill()
  return { skip: out.trim().slice(0, 200) }
}
