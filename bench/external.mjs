// Contenders that are not Node processes: the native Rust ceiling
// (crates/boros/examples/randread.rs) and fio's io_uring engine; plus the
// optional strace pass that counts io_uring_enter calls of any command.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { log } from './util.mjs'

const REPO = path.resolve(new URL('..', import.meta.url).pathname)

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

const tmpFile = (name) => path.join(os.tmpdir(), `boros-bench-${process.pid}-${name}`)

/** Run a command; with /usr/bin/time (when present) also get its CPU time and peak RSS. */
export function runMeasured(cmd, args, timeoutMs) {
  const timeBin = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null
  const out = tmpFile('time.txt')
  const full = timeBin ? [timeBin, ['-f', '%U %S %M', '-o', out, cmd, ...args]] : [cmd, args]
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 })
  let usage = null
  if (timeBin) {
    try {
      const last = fs.readFileSync(out, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number)
      usage = { cpuSeconds: last[0] + last[1], maxRSSKiB: last[2] }
    } catch {}
    fs.rmSync(out, { force: true })
  }
  return { ...r, usage }
}

// ---------------------------------------------------------------- native --

/**
 * Locate (building if needed) the native example. Returns { bin } or { skip }.
 * Builds when the binary is missing or older than the example's source.
 */
export function ensureNative({ build = true } = {}) {
  const src = path.join(REPO, 'crates/boros/examples/randread.rs')
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.join(REPO, 'target')
  const bin = path.join(targetDir, 'release/examples/randread')
  if (!fs.existsSync(src)) {
    if (fs.existsSync(bin)) return { bin, note: 'source missing, using existing binary' }
    return { skip: 'native ceiling: crates/boros/examples/randread.rs does not exist yet (skipped)' }
  }
  const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs
  if (stale && build) {
    if (!which('cargo'))
      return fs.existsSync(bin)
        ? { bin, note: 'cargo missing, binary may be stale' }
        : { skip: 'native ceiling: cargo not found' }
    log('[native] cargo build --release -p boros --example randread ...')
    const r = spawnSync('cargo', ['build', '--release', '-p', 'boros', '--example', 'randread'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 64 << 20
    })
    if (r.status !== 0) {
      const tail = (r.stderr || String(r.error || '')).trim().split('\n').slice(-5).join('\n  ')
      if (fs.existsSync(bin)) return { bin, note: 'build failed, using the previous binary' }
      return { skip: `native ceiling: build failed (skipped)\n  ${tail}` }
    }
  }
  if (!fs.existsSync(bin)) return { skip: `native ceiling: ${bin} not found (skipped)` }
  return { bin }
}

/** Parse the example's one JSON line. */
function parseNative(stdout, block) {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.trim().startsWith('{'))
  if (!line) throw new Error(`no JSON line in output: ${stdout.slice(0, 200)}`)
  const j = JSON.parse(line)
  const ops = Number(j.ops)
  return {
    ops,
    bytes: ops * block,
    seconds: Number(j.seconds),
    enters: j.enter_calls != null ? Number(j.enter_calls) : null,
    raw: j
  }
}

export function runNative(bin, args, p, timeoutMs) {
  const r = runMeasured(bin, args, timeoutMs)
  if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}: ${(r.stderr || '').trim().slice(-400)}`)
  const res = parseNative(r.stdout, p.block)
  return {
    ...res,
    cpuSeconds: r.usage?.cpuSeconds ?? null,
    maxRSSKiB: r.usage?.maxRSSKiB ?? null,
    entersSource: 'native'
  }
}

// ------------------------------------------------------------------- fio --

export function fioVersion() {
  if (!which('fio')) return null
  const r = spawnSync('fio', ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

export function fioArgs(workloadArgs, { seconds, warmup, timeBased }) {
  const common = ['--ioengine=io_uring', '--direct=0', '--invalidate=0', '--output-format=json', '--numjobs=1']
  if (timeBased) common.push('--time_based', `--runtime=${Math.round(seconds * 1000)}ms`)
  if (timeBased && warmup > 0) common.push(`--ramp_time=${Math.round(warmup * 1000)}ms`)
  return [...workloadArgs, ...common]
}

export function runFio(args, timeoutMs) {
  const r = runMeasured('fio', args, timeoutMs)
  if (r.status !== 0)
    throw new Error(`fio exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().slice(-400)}`)
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))
  const job = j.jobs[0]
  const dir = job.write.total_ios > 0 ? job.write : job.read
  // fio's own CPU figures (percent of the job's runtime) exclude start-up and layout.
  const seconds = dir.runtime / 1000
  const cpuSeconds = (((job.usr_cpu + job.sys_cpu) / 100) * (job.job_runtime ?? dir.runtime)) / 1000
  return {
    ops: dir.total_ios,
    bytes: dir.io_bytes,
    seconds,
    cpuSeconds,
    maxRSSKiB: r.usage?.maxRSSKiB ?? null
  }
}

// ---------------------------------------------------------------- strace --

export function straceAvailable() {
  return which('strace') != null
}

/** Run cmd under strace and return { calls, stdout } where calls = io_uring_enter calls. */
export function countEnters(cmd, args, opts = {}) {
  const out = tmpFile('strace.txt')
  const r = spawnSync('strace', ['-f', '-c', '--seccomp-bpf', '-e', 'trace=io_uring_enter', '-o', out, cmd, ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
    maxBuffer: 64 << 20
  })
  let calls = null
  try {
    const text = fs.readFileSync(out, 'utf8')
    calls = 0
    for (const line of text.split('\n')) {
      const t = line.trim().split(/\s+/)
      if (t[t.length - 1] === 'io_uring_enter') calls = Number(t[3])
    }
  } catch {}
  fs.rmSync(out, { force: true })
  return { calls, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}
