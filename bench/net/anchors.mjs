// Bun and Deno for the http workload's anchors (Bun.serve, Deno.serve). Their npm packages
// ship the binaries (as optional dependencies per platform); they are installed on first use
// into a cache folder (default .bench-data/anchors, or BOROS_BENCH_ANCHORS), never as the
// project's devDependencies, so CI does not download them for the tests.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { log } from '../util.mjs'

/** Returns { bun, deno } with each a binary path or { skip: reason }. */
export function ensureAnchors(dataDir, { install = true } = {}) {
  const dir = path.resolve(process.env.BOROS_BENCH_ANCHORS ?? path.join(dataDir, 'anchors'))
  const bin = (name) => path.join(dir, 'node_modules', '.bin', name)
  const works = (name) => {
    if (!fs.existsSync(bin(name))) return null
    const r = spawnSync(bin(name), ['--version'], { encoding: 'utf8', timeout: 30_000 })
    // "1.4.5" (bun) or "deno 2.9.6 (stable, ...)" (deno): the version number alone.
    return r.status === 0
      ? r.stdout
          .trim()
          .split('\n')[0]
          .replace(/^(bun|deno)\s+/, '')
          .split(' ')[0]
      : null
  }
  const missing = ['bun', 'deno'].filter((n) => !works(n))
  if (missing.length > 0 && install) {
    fs.mkdirSync(dir, { recursive: true })
    if (!fs.existsSync(path.join(dir, 'package.json')))
      fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "boros-bench-anchors", "private": true }\n')
    log(`[http] installing ${missing.join(' and ')} from npm into ${dir} (first use) ...`)
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', ...missing], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 600_000
    })
    if (r.status !== 0)
      log(
        `[http] npm install ${missing.join(' ')} failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`
      )
  }
  const out = {}
  for (const name of ['bun', 'deno']) {
    const version = works(name)
    out[name] = version
      ? { bin: bin(name), version }
      : { skip: `${name}: not installed in ${dir} (npm install ${name} there failed or was not allowed)` }
  }
  return out
}
