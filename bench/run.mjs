#!/usr/bin/env node
// boros benchmark suite: orchestrator and CLI.
//
//   node bench/run.mjs [--quick] [--only randread,readfiles,...] [--node /path/to/node]
//                      [--contenders boros,fsp,...] [--seconds S] [--strace | --no-strace]
//                      [--no-build] [--data-dir DIR] [--allow-tmpfs] [--rounds N]
//                      [--compare SAVED.json]   (exit 1 if a boros ratio fell > 10 %, compare.mjs)
//                      [--rows '16 KiB x 64,idle']  (only the configurations whose label contains one)
//
// Every (workload, config, contender) runs in its own child process (bench/child.mjs
// for Node contenders; the native example or fio otherwise), one after the other.
// Each (workload, config) runs its contenders in --rounds rounds (3; 1 with --quick),
// alternating their order, and reports each contender's median round: on a shared
// machine one slow moment then moves one round, not one contender's only figure.
// Results: a table on stdout, bench/results/latest.json (+ a timestamped copy) and
// bench/results/latest.svg. Progress goes to stderr.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { byName } from './workloads/index.mjs'
import { fsType, ensureBigFile, ensureTree, warmFile, warmTree } from './data.mjs'
import { ensureNative, runNative, fioVersion, fioArgs, runFio, straceAvailable, countEnters } from './external.mjs'
import { printReport, writeJson, writeSvg } from './report.mjs'
import { ensureEchoExamples, ensureWrk, ensureHttpFile, measureNet } from './net/run.mjs'
import { ensureAnchors } from './net/anchors.mjs'
import { compareDocs, printComparison, settingsWarnings } from './compare.mjs'
import { formatStartup, runStartup } from './startup.mjs'
import { formatRm } from './readme-table.mjs'
import { log, fmtBytes, fmtNum, RESULT_MARK } from './util.mjs'
import { parseCli } from './cli.mjs'
import { CONTENDERS, CONTENDER_ORDER } from './contenders.mjs'
import { machineInfo, probeNode, probeUring } from './environment.mjs'

const BENCH = path.dirname(new URL(import.meta.url).pathname)
const REPO = path.resolve(BENCH, '..')
const CHILD = path.join(BENCH, 'child.mjs')

export { CONTENDER_ORDER }

const { args, quick, opts, wantStartup, wantRm, selected, selectedContenders, rowFilter, nodeBin, useStrace } =
  parseCli(new URL(import.meta.url))

// -------------------------------------------------------------- running --
function runChild(workload, contender, p, seconds, warmup) {
  const spec = {
    workload: workload.name,
    kind: contender.kind,
    api: contender.api,
    pool: contender.pool === true,
    params: p,
    seconds,
    warmup
  }
  const capSeconds = seconds * (workload.timeCap ?? 1) + warmup
  const r = spawnSync(nodeBin, [CHILD, JSON.stringify(spec)], {
    encoding: 'utf8',
    env: { ...process.env, ...contender.env },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: (capSeconds + 60) * 1000,
    maxBuffer: 64 << 20
  })
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK))
  if (!line)
    throw new Error(`child produced no result (exit ${r.status ?? r.signal}${r.error ? ', ' + r.error.message : ''})`)
  const res = JSON.parse(line.slice(RESULT_MARK.length))
  if (res.error) throw new Error(res.error.split('\n')[0])
  if (res.borosStats) res.entersSource = 'boros stats()'
  return res
}

function straceChild(workload, contender, p) {
  const spec = {
    workload: workload.name,
    kind: contender.kind,
    api: contender.api,
    params: p,
    seconds: opts.straceSeconds,
    warmup: 0
  }
  const r = countEnters(nodeBin, [CHILD, JSON.stringify(spec)], { env: { ...process.env, ...contender.env } })
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK))
  const res = line ? JSON.parse(line.slice(RESULT_MARK.length)) : null
  if (!res || res.error || res.skipped || r.calls == null || !res.ops) return null
  return r.calls / res.ops
}

function rateOf(workload, r) {
  // The idle-connections row has no rate: its figure is RSS (rssIdleKiB, perConnKiB).
  if (r.idle) return 0
  return workload.unit === 'MB/s' ? r.bytes / r.seconds / 1e6 : r.ops / r.seconds
}

async function main() {
  const t0 = Date.now()
  const dataDir = path.resolve(args['data-dir'] ?? path.join(REPO, '.bench-data'))
  fs.mkdirSync(dataDir, { recursive: true })
  const fsinfo = fsType(dataDir)
  const fileWorkloads = selected.some((n) => !byName[n].net)
  if (fileWorkloads && fsinfo.type === 'tmpfs' && !args['allow-tmpfs']) {
    log(`${dataDir} is on tmpfs: io_uring punts every tmpfs read to a worker thread, so the numbers`)
    log(`would not mean what they say. Use an ext4 directory (--data-dir) or pass --allow-tmpfs.`)
    process.exit(2)
  }
  if (fileWorkloads && fsinfo.type !== 'ext4')
    log(`[warn] ${dataDir} is on ${fsinfo.type}, not ext4: results may not compare with the reference numbers`)

  const node = probeNode(nodeBin)
  const uring = probeUring(nodeBin, node)
  const machine = machineInfo(dataDir, fsinfo)
  log(
    `[env] ${machine.cpu} x${machine.cores}, ${machine.memGiB} GiB, Linux ${machine.kernel}, data on ${fsinfo.type} (${dataDir})`
  )
  log(`[env] node ${nodeBin}: ${node.version}, libuv ${node.uv}, N-API ${node.napi}`)
  log(`[env] ${uring.reason}`)

  // Start-up cost of the drop-in flag (bench/startup.mjs): whole processes, before the rest.
  let startup = null
  if (wantStartup) {
    if (!fs.existsSync(path.join(REPO, 'dist/register.js'))) {
      log('startup: boros is not built (dist/register.js missing), run npm run build')
      process.exit(1)
    }
    startup = runStartup({ nodeBin, runs: quick ? 11 : 41, log })
  }

  // rm recursive under a watched parent (bench/extra/rm-watch.mjs): node:fs/promises vs boros/fs.
  let rm = null
  if (wantRm) {
    log('rm: recursive rm of a watched tree, node:fs/promises vs boros/fs (bench/extra/rm-watch.mjs)')
    const r = spawnSync(
      nodeBin,
      [path.join(BENCH, 'extra/rm-watch.mjs'), '--json', '--rounds', quick ? '3' : '9', '--dir', dataDir],
      { encoding: 'utf8', env: { ...process.env, UV_USE_IO_URING: '0' } }
    )
    if (r.status !== 0) {
      log(`rm: could not run (exit ${r.status}): ${r.stderr}`)
      process.exit(1)
    }
    rm = JSON.parse(r.stdout)
    log(formatRm(rm))
  }

  // Skips decided up front: one message each, instead of one per run.
  // skip[c] is the full reason (log, JSON, SVG); short[c] goes into the table.
  const skip = {}
  const short = {}
  if (!fs.existsSync(path.join(REPO, 'dist/fs/index.js'))) {
    skip.boros = 'boros: not built, run npm run build'
    short.boros = 'not built, run npm run build'
  }
  // UV_USE_IO_URING ignored by this Node: a property of the Node under test (its rows say so), not a failure.
  const UNHONOURED_URING = new Set(uring.honoured ? [] : ['fsp-uring', 'cb-uring'])
  if (!uring.honoured) {
    for (const c of ['fsp-uring', 'cb-uring']) {
      skip[c] = uring.reason
      short[c] = `UV_USE_IO_URING not honoured by Node ${node.version}`
    }
  }
  const wantNative = selectedContenders.includes('native') && selected.some((n) => byName[n].native)
  const native = wantNative ? ensureNative({ build: !args['no-build'] }) : { skip: 'native: not selected' }
  if (native.skip) {
    skip.native = native.skip
    short.native = native.skip.replace(/^native ceiling: /, '').split('\n')[0]
  }
  if (native.note) log(`[native] ${native.note}`)
  const fio = fioVersion()
  if (!fio) {
    skip.fio = 'fio: not installed (apt-get install fio), skipped'
    short.fio = 'not installed'
  }
  // Network workloads: the native echo load generator (and server), wrk for http.
  const netp = { nodeBin, warmup: opts.warmup, seconds: opts.seconds, straceSeconds: Math.max(1, opts.straceSeconds) }
  if (selected.includes('echo')) {
    const e = ensureEchoExamples({ build: !args['no-build'] })
    const setSkip = (c, why, brief) => {
      skip[c] = why
      short[c] = brief
    }
    if (e.skip) for (const c of byName.echo.contenders) setSkip(c, e.skip, 'no load generator')
    else {
      netp.echoClient = e.client
      netp.echoServer = e.server
      if (!e.server) setSkip('native-echo', 'native echo server not built', 'not built')
    }
  }
  if (selected.includes('http')) {
    const wrk = ensureWrk({ install: !args['no-build'] })
    if (wrk.skip)
      for (const c of byName.http.contenders) {
        skip[c] = wrk.skip
        short[c] = 'wrk not installed'
      }
    else netp.wrk = wrk.bin
    netp.httpFile = ensureHttpFile(dataDir)
    if (selectedContenders.some((c) => CONTENDERS[c].external?.startsWith('anchor-'))) {
      netp.anchors = ensureAnchors(dataDir, { install: !args['no-build'] })
      for (const [c, a] of [
        ['bun-serve', netp.anchors.bun],
        ['deno-serve', netp.anchors.deno]
      ]) {
        if (a.skip) {
          skip[c] = a.skip
          short[c] = 'not installed'
        } else log(`[http] ${CONTENDERS[c].label}: ${a.bin} (${a.version})`)
      }
    }
  }
  if (!fs.existsSync(path.join(REPO, 'dist/net/connection.js'))) {
    skip['boros-ll'] = 'boros low-level net API: dist/net/connection.js missing, run npm run build'
    short['boros-ll'] = 'not built'
  }
  for (const c of selectedContenders) if (skip[c]) log(`[skip] ${skip[c]}`)
  log(
    `[env] fio: ${fio ?? 'absent'}; strace pass for io_uring_enter counts: ${useStrace ? 'on' : straceAvailable() ? 'off' : 'strace absent'}`
  )

  // Data sets: only those the selected workloads need.
  const needBig = selected.some((n) => ['randread', 'seqread'].includes(n))
  const needTree = selected.some((n) => ['readfiles', 'statstorm'].includes(n))
  const bigFile = needBig ? ensureBigFile(dataDir, opts.bigSize, opts.seed) : null
  const manifest = needTree ? ensureTree(dataDir, opts.treeFiles, opts.treeDirs, opts.seed) : null
  const writeFile = path.join(dataDir, 'seqwrite.tmp')
  const freeish = os.freemem()
  if (needBig && freeish < opts.bigSize * 1.5)
    log(`[warn] only ${fmtBytes(freeish)} free memory: the ${fmtBytes(opts.bigSize)} file may not stay cached`)

  // The plan: every run that will actually start a process.
  const plan = []
  for (const name of selected) {
    const w = byName[name]
    w.configs(opts).forEach((cfg, ci) => {
      if (rowFilter !== null && !rowFilter.some((r) => cfg.label.includes(r))) return
      for (const c of selectedContenders) {
        if (!w.contenders.includes(c)) continue
        const def = CONTENDERS[c]
        const reuse = def.qdIndependent && ci > 0 && rowFilter === null
        plan.push({
          w,
          cfg,
          c,
          def,
          reuse,
          skip: short[c] ?? skip[c] ?? w.skip?.(cfg, c) ?? (def.external === 'native' && !w.native ? 'n/a' : null),
          // Asked for, and this machine or build could not run it (not built, not installed):
          // the run fails at the end. Not a row the contender has no meaning for ('n/a', a
          // workload's own skip such as a Node without reusePort, UV_USE_IO_URING ignored).
          unavailable: Boolean(skip[c]) && !UNHONOURED_URING.has(c)
        })
      }
    })
  }
  const runs = plan.filter((x) => !x.reuse && !x.skip)
  const straceRuns = useStrace
    ? runs.filter((x) => x.w.net || (!x.c.startsWith('boros') && x.c !== 'native')).length
    : 0
  const eta = runs.length * opts.rounds * (opts.seconds + opts.warmup + 0.25) + straceRuns * (opts.straceSeconds + 0.4)
  log(
    `[plan] ${runs.length} runs x ${opts.rounds} round${opts.rounds > 1 ? 's' : ''} of ${opts.seconds} s${straceRuns ? ` + ${straceRuns} short strace runs` : ''}${quick ? ' (quick)' : ''}, about ${Math.ceil(eta / 10) * 10} s`
  )

  const results = []
  const warmed = new Set()
  let i = 0
  const total = runs.length * opts.rounds

  /** One measured run of `x`; with `strace`, also its io_uring_enter count. Throws on failure. */
  async function measure(x, p, strace) {
    const { w, c, def } = x
    w.prepare?.(p)
    let r
    if (w.net) {
      r = await measureNet(w, def, x.cfg, { ...netp, ...p }, { strace })
      if (r.skipped) return r
    } else if (def.external === 'native') {
      r = runNative(native.bin, w.native({ ...p, seconds: opts.seconds }), p, (opts.seconds + 60) * 1000)
    } else if (def.external === 'fio') {
      const timeBased = w.name !== 'seqwrite'
      const a = fioArgs(w.fio(p), { seconds: opts.seconds, warmup: opts.warmup, timeBased })
      r = runFio(a, (opts.seconds * (w.timeCap ?? 1) + 120) * 1000)
      if (strace) {
        const s = countEnters('fio', fioArgs(w.fio(p), { seconds: opts.straceSeconds, warmup: 0, timeBased }))
        if (s.calls != null && s.status === 0) {
          try {
            const j = JSON.parse(s.stdout.slice(s.stdout.indexOf('{'))).jobs[0]
            const d = j.write.total_ios > 0 ? j.write : j.read
            r.enters = null
            r.entersPerOp = s.calls / d.total_ios
            r.entersSource = 'strace'
          } catch {}
        }
      }
    } else {
      r = runChild(w, def, p, opts.seconds, opts.warmup)
      if (r.skipped) return r
      if (strace && !c.startsWith('boros')) {
        w.prepare?.(p)
        const epo = straceChild(w, def, p)
        if (epo != null) {
          r.entersPerOp = epo
          r.entersSource = 'strace'
        }
      }
    }
    if (r.entersPerOp == null && r.enters != null && r.ops > 0) r.entersPerOp = r.enters / r.ops
    return { ...r, rate: rateOf(w, r), cpuPerOpUs: r.cpuSeconds != null && r.ops ? (r.cpuSeconds / r.ops) * 1e6 : null }
  }

  // Groups: the contenders of one (workload, config), measured round by round.
  const groups = []
  for (const x of plan) {
    const last = groups.at(-1)
    if (last && last[0].w === x.w && last[0].cfg === x.cfg) last.push(x)
    else groups.push([x])
  }
  for (const group of groups) {
    const { w, cfg } = group[0]
    const p = {
      file: bigFile,
      fileSize: opts.bigSize,
      manifest,
      writeFile,
      writeSize: opts.writeSize,
      block: cfg.block ?? opts.block,
      qd: cfg.qd,
      seed: opts.seed,
      seconds: opts.seconds
    }
    const recOf = (x) => ({
      workload: w.name,
      title: w.title,
      config: cfg.label,
      qd: cfg.qd,
      unit: w.unit,
      op: w.op,
      base: w.base ?? 'fsp',
      borosKey: w.boros ?? 'boros',
      ...(w.net ? { net: true, conns: cfg.conns, size: cfg.size, workers: cfg.workers ?? 1 } : {}),
      contender: x.c,
      label: x.def.label
    })
    const measured = group.filter((x) => !x.skip && !x.reuse)
    // Warm the page cache once per workload (seqwrite dirties memory in between).
    if (measured.length > 0 && !warmed.has(w.name)) {
      warmed.add(w.name)
      if ((w.name === 'randread' || w.name === 'seqread') && bigFile) {
        const s = warmFile(bigFile)
        log(`[warm] read ${fmtBytes(s.bytes)} in ${s.seconds.toFixed(2)} s (${s.gbPerSec.toFixed(1)} GB/s)`)
      } else if (manifest && (w.name === 'readfiles' || w.name === 'statstorm')) {
        const s = warmTree(manifest)
        log(`[warm] read ${fmtNum(s.files)} files (${fmtBytes(s.bytes)}) in ${s.seconds.toFixed(2)} s`)
      }
    }
    const rounds = new Map(measured.map((x) => [x, []]))
    const failed = new Map()
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate the order, so that no contender always runs first (or right after another).
      const order = round % 2 === 0 ? measured : [...measured].reverse()
      for (const x of order) {
        if (failed.has(x)) continue
        i++
        const tag = opts.rounds > 1 ? ` (round ${round + 1}/${opts.rounds})` : ''
        process.stderr.write(`[${i}/${total}] ${w.name} ${cfg.label} ${x.def.label}${tag} ... `)
        try {
          const r = await measure(x, p, useStrace && round === 0)
          if (r.skipped) {
            process.stderr.write(`skipped: ${r.skipped}\n`)
            failed.set(x, { skipped: r.skipped })
            continue
          }
          rounds.get(x).push(r)
          if (r.idle)
            process.stderr.write(
              `RSS ${fmtNum(r.rssIdleKiB / 1024, 0)} MiB with ${fmtNum(r.ops, 0)} idle connections (${r.perConnKiB?.toFixed(1)} KiB each)\n`
            )
          else process.stderr.write(`${fmtNum(r.rate, 0)} ${w.unit}\n`)
        } catch (e) {
          process.stderr.write(`FAILED: ${e.message}\n`)
          failed.set(x, { error: e.message })
        }
      }
    }
    for (const x of group) {
      const rec = recOf(x)
      if (x.skip) {
        results.push({ ...rec, skipped: x.skip, ...(x.unavailable ? { unavailable: true } : {}) })
      } else if (x.reuse) {
        const first = results.find((r) => r.workload === w.name && r.contender === x.c && !r.reused)
        results.push({ ...first, ...rec, reused: true, note: 'in-flight does not apply: same run as the first config' })
      } else if (failed.has(x)) {
        results.push({ ...rec, ...failed.get(x) })
      } else {
        // The median round (by rate), whole: its CPU, RSS and enter counts belong together.
        // The strace count comes from round 1 whichever round is the median.
        const all = rounds.get(x)
        const key = (r) => (r.idle ? r.rssIdleKiB : r.rate)
        const median = [...all].sort((a, b) => key(a) - key(b))[(all.length - 1) >> 1]
        const traced = all[0]
        results.push({
          ...rec,
          ...median,
          entersPerOp: traced.entersSource === 'strace' ? traced.entersPerOp : median.entersPerOp,
          entersSource: traced.entersSource ?? median.entersSource,
          // The network workloads' strace pass (every system call per request) also ran in round 1.
          ...(traced.syscallsPerOp != null ? { syscallsPerOp: traced.syscallsPerOp } : {}),
          rounds: all.length,
          roundRates: all.map((r) => r.rate)
        })
      }
    }
  }
  if (selected.includes('seqwrite')) fs.rmSync(writeFile, { force: true })

  const doc = {
    meta: {
      date: new Date().toISOString(),
      quick,
      durationSeconds: (Date.now() - t0) / 1000,
      machine,
      node: { path: nodeBin, ...node, uvUseIoUring: uring },
      tools: { fio, strace: useStrace, native: native.bin ?? null, nativeSkip: native.skip ?? null },
      settings: {
        ...opts,
        workloads: selected,
        contenders: selectedContenders,
        threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)'
      },
      skips: skip,
      ...(netp.anchors
        ? {
            anchors: Object.fromEntries(
              Object.entries(netp.anchors)
                .filter(([, a]) => a.version)
                .map(([k, a]) => [k, a.version])
            )
          }
        : {}),
      contenders: Object.fromEntries(Object.entries(CONTENDERS).map(([k, v]) => [k, v.label]))
    },
    results,
    ...(startup ? { startup } : {}),
    ...(rm ? { rm } : {})
  }
  printReport(doc)
  if (startup) log(formatStartup(startup, nodeBin))
  if (rm) log(formatRm(rm))
  const resultsDir = path.join(BENCH, 'results')
  const files = writeJson(doc, resultsDir)
  files.push(writeSvg(doc, resultsDir))
  log(
    `\n[done] ${((Date.now() - t0) / 1000).toFixed(1)} s; wrote ${files.map((f) => path.relative(REPO, f)).join(', ')}`
  )
  // A contender that was asked for and could not run (not installed, not built, failed) makes
  // the run fail, after the results are written: a table with a hole is not a comparison. The
  // http workload's contenders are the comparison itself: any skip there but 'n/a' fails it.
  const missed = results.filter(
    (r) => r.error || r.unavailable || (r.workload === 'http' && r.skipped && r.skipped !== 'n/a')
  )
  if (missed.length > 0) {
    const names = [...new Set(missed.map((r) => `${r.workload}: ${r.label} (${(r.error ?? r.skipped).slice(0, 120)})`))]
    log(`\n[fail] ${names.length} contender(s) could not run (leave one out with --contenders): ${names.join('; ')}`)
    process.exitCode = 1
  }
  if (args.compare) {
    const saved = JSON.parse(fs.readFileSync(args.compare, 'utf8'))
    const full = JSON.parse(fs.readFileSync(files[0], 'utf8'))
    for (const w of settingsWarnings(saved, full)) log(`[warn] ${w}`)
    if (printComparison(compareDocs(saved, full), args.compare) > 0) process.exitCode = 1
  }
}

main().catch((e) => {
  log(e.stack ?? String(e))
  process.exit(1)
})
