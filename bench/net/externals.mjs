// The external tools of the network benchmarks: the native echo examples (built when stale),
// wrk, and the static file of the http workload.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { log } from '../util.mjs'
import { REPO, which } from './common.mjs'

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
