// Runs one workload for one contender in a fresh process, so that peak RSS,
// CPU time and environment (UV_USE_IO_URING) belong to that contender alone.
//
//   node bench/child.mjs '<json>'   json: { workload, kind, api, pool, params, seconds, warmup }
//
// kind: 'promise' | 'callback' | 'sync'; api: 'node' | 'boros' | 'boros-cb' (boros/fs/callback). pool: the workload's
// buffers come from a boros BufferPool (api.alloc) instead of Buffer.alloc.
// Prints one line "BENCH_RESULT {...}" on stdout. A contender that cannot run
// (e.g. boros not built) reports { skipped: "reason" } and exits 0.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { byName } from './workloads/index.mjs'
import { RESULT_MARK } from './util.mjs'

const spec = JSON.parse(process.argv[2])
const emit = (obj) => process.stdout.write(RESULT_MARK + JSON.stringify(obj) + '\n')

class Skip extends Error {}

async function loadBoros() {
  const fsUrl = new URL('../dist/fs/index.js', import.meta.url)
  const coreUrl = new URL('../dist/index.js', import.meta.url)
  if (!fs.existsSync(fsUrl)) throw new Skip('boros: not built, run npm run build')
  let mod
  try {
    mod = await import(fsUrl.href)
  } catch (e) {
    throw new Skip(`boros: failed to load dist/fs/index.js (${e.message}); run npm run build`)
  }
  const api = typeof mod.open === 'function' ? mod : mod.default
  if (!api || typeof api.open !== 'function') throw new Skip('boros: dist/fs/index.js exports no open()')
  let core = null
  try {
    core = await import(coreUrl.href)
  } catch {}
  const BufferPool = core?.BufferPool ?? core?.default?.BufferPool ?? null
  const statsFn = core?.stats ?? core?.default?.stats ?? mod.stats ?? null
  const runtimeFn = core?.runtime ?? core?.default?.runtime ?? null
  return { api, BufferPool, stats: statsFn ? () => statsFn() : null, runtime: runtimeFn }
}

function jsonSafe(v) {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)))
  } catch {
    return String(v)
  }
}

async function main() {
  const w = byName[spec.workload]
  if (!w) throw new Error(`unknown workload ${spec.workload}`)

  let api = fs
  let boros = null
  if (spec.api === 'boros') {
    boros = await loadBoros()
    api = boros.api
    if (spec.pool) {
      if (!boros.BufferPool) throw new Skip('boros: dist/index.js exports no BufferPool')
      // One registered buffer per read in flight; workloads take theirs with api.alloc().
      // Handed out round robin: the warm-up and the measured run each take qd of them.
      const count = Math.max(1, spec.params.qd ?? 1)
      const pool = new boros.BufferPool({ count, size: spec.params.block })
      const bufs = Array.from({ length: count }, () => pool.acquire())
      let next = 0
      api = { ...api, alloc: () => bufs[next++ % count] }
    }
  } else if (spec.api === 'boros-cb') {
    // boros/fs/callback: node:fs's callback API on the ring (the workloads' callback code).
    boros = await loadBoros()
    const url = new URL('../dist/fs/callback.js', import.meta.url)
    if (!fs.existsSync(url)) throw new Skip('boros: dist/fs/callback.js missing, run npm run build')
    const mod = await import(url.href)
    api = typeof mod.read === 'function' ? mod : mod.default
  } else if (spec.kind === 'promise') {
    api = fsp
  }
  const run = (seconds) => w[spec.kind](api, spec.params, seconds)

  // Warm-up pass: lets the JIT compile the hot paths and opens caches.
  if (spec.warmup > 0 && w.warmup !== false) await run(spec.warmup)

  const stats0 = boros?.stats?.()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await run(spec.seconds)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const stats1 = boros?.stats?.()

  const out = {
    ops: r.ops,
    bytes: r.bytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    maxRSSKiB: process.resourceUsage().maxRSS,
    uvUseIoUring: process.env.UV_USE_IO_URING ?? null
  }
  if (stats0 && stats1) {
    const d = (k) => Number(stats1[k] ?? 0) - Number(stats0[k] ?? 0)
    out.enters = d('enterCalls')
    out.borosStats = {
      opsSubmitted: d('opsSubmitted'),
      opsCompleted: d('opsCompleted'),
      enterCalls: d('enterCalls'),
      batches: d('batches')
    }
  }
  if (boros?.runtime) {
    try {
      out.borosRuntime = jsonSafe(boros.runtime())
    } catch {}
  }
  emit(out)
}

main().then(
  () => process.exit(0),
  (e) => {
    if (e instanceof Skip) {
      emit({ skipped: e.message })
      process.exit(0)
    }
    emit({ error: String(e?.stack ?? e) })
    process.exit(1)
  }
)
