// Where the RSS of the echo bench's idle row lives (issue 21, docs/net.md "10,000 idle
// connections, accounted"): each server of bench/net/server.mjs is started as the suite starts
// it (pinned, `ulimit -n` raised), its /proc/PID/smaps read before and after
// bench/net/idle-client.mjs opened N connections that each echoed one 64 B message and then
// went idle; the resident memory is summed by kind of mapping:
//   node      the node binary's pages        addon     boros' .node file
//   io_uring  the ring's SQ/CQ mappings      recvgroup the shared receive group's 16 MiB mapping
//   v8        V8's 256 KiB heap pages        v8-code   V8's code range (rwx)
//   brk       malloc's main heap ([heap])    arenas    malloc's thread arenas (64 MiB aligned)
//   libs      other files                    other     other anonymous memory (the op slab...)
// Servers run in rounds, alternating, so the rows compare side by side on a loaded machine.
//
// With --compiles, each server also runs with --trace-opt, and the compiles V8 finished during
// the burst (from the client's start to the reading) are counted by tier (Maglev, TurboFan):
// on Node 24 the concurrent compiles of the burst are what malloc's thread arenas hold
// (docs/net.md, issue 21, fourteenth round). --node-flag=FLAG (repeatable) passes V8 or Node
// flags to the servers only, for measurements such as --no-maglev; never a setting of ours.
// With --trim, glibc's malloc_trim(0) is then called in the server (through gdb, which must be
// installed) and the memory read again: a second row, "trimmed", shows what of malloc's heaps
// and arenas was free memory the allocator kept (a measurement, nothing boros does).
//
//   node bench/extra/idle-smaps.mjs [--conns N] [--rounds R] [--node PATH] [--compiles] [--trim]
//        [--node-flag=FLAG ...] [--servers echo-node,echo-boros-net[@DIR],...]
//   (DIR: another checkout's build)
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { serverPort } from '../net/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : def
}
const CONNS = Number(arg('conns', 10_000))
const ROUNDS = Number(arg('rounds', 2))
const NODE = arg('node', process.execPath)
const SERVERS = arg('servers', 'echo-node,echo-boros-ll,echo-boros-net').split(',')
const COMPILES = process.argv.includes('--compiles')
const TRIM = process.argv.includes('--trim')
const FLAGS = process.argv.filter((a) => a.startsWith('--node-flag=')).map((a) => a.slice('--node-flag='.length))
if (COMPILES) FLAGS.push('--trace-opt')
const KINDS = ['node', 'addon', 'io_uring', 'recvgroup', 'v8', 'v8-code', 'brk', 'arenas', 'libs', 'other']
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resident KiB of the process by kind of mapping (see the top of this file). */
function byKind(pid) {
  const out = Object.fromEntries(KINDS.map((k) => [k, 0]))
  let kind = null
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (m) {
      const [, lo, hi, perm, name] = m
      const kib = (Number.parseInt(hi, 16) - Number.parseInt(lo, 16)) / 1024
      if (name.endsWith('.node')) kind = 'addon'
      else if (/\/node$/.test(name)) kind = 'node'
      else if (name.includes('io_uring')) kind = 'io_uring'
      else if (name === '[heap]') kind = 'brk'
      else if (name.startsWith('/')) kind = 'libs'
      else if (name !== '') kind = null
      else if (perm === 'rwxp') kind = 'v8-code'
      else if (kib === 16384) kind = 'recvgroup'
      else if (kib === 256 && !lo.startsWith('7f')) kind = 'v8'
      else if (lo.startsWith('7f') && /000000$/.test(lo) && kib < 65536) kind = 'arenas'
      else kind = 'other'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss && kind) out[kind] += Number(rss[1])
  }
  return out
}

/** One server with CONNS idle connections: its RSS by kind before and after. */
async function measure(spec) {
  const [server, dir = REPO] = spec.split('@')
  const script = path.join(path.resolve(dir), 'bench/net/server.mjs')
  const json = JSON.stringify({ server, port: 0, workers: 1 })
  const sh = (cpu, ...cmd) => spawn('sh', ['-c', 'ulimit -n 20000 && exec taskset -c "$@"', 'sh', cpu, ...cmd])
  const srv = sh('1', NODE, ...FLAGS, script, json)
  let trace = ''
  if (COMPILES) srv.stdout.on('data', (d) => (trace += d))
  const { port, skip } = await serverPort(srv)
  if (!port) return { skip }
  await sleep(300)
  const before = byKind(srv.pid)
  const mark = trace.length
  const client = sh('0', NODE, path.join(REPO, 'bench/net/idle-client.mjs'), port, String(CONNS), 'echo')
  let got = ''
  client.stdout.on('data', (d) => (got += d))
  const t1 = Date.now()
  while (!/^(READY|FAILED)/m.test(got) && client.exitCode == null && Date.now() - t1 < 120_000) await sleep(50)
  await sleep(500) // as the suite's idle row
  const idle = byKind(srv.pid)
  let trimmed
  if (TRIM) {
    execFileSync('gdb', ['-p', String(srv.pid), '-batch', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore' })
    trimmed = byKind(srv.pid)
  }
  const burst = trace.slice(mark)
  const compiles = {
    maglev: burst.match(/completed compiling .*target MAGLEV/g)?.length ?? 0,
    turbofan: burst.match(/completed optimizing .*target TURBOFAN/g)?.length ?? 0
  }
  client.stdin.end('close\n')
  srv.stdin.end('exit\n')
  await new Promise((resolve) => srv.once('exit', resolve))
  if (client.exitCode == null && !/^READY/m.test(got)) client.kill()
  return /^READY/m.test(got)
    ? { before, idle, trimmed, compiles }
    : { skip: got.trim() || 'the idle client did not get its echoes' }
}

const mib = (kib) => (kib / 1024).toFixed(2)
console.log(`${NODE === process.execPath ? process.version : NODE}: ${CONNS} idle connections, MiB resident`)
console.log(['server'.padEnd(34), 'before', 'idle', ...KINDS, ...(COMPILES ? ['maglev', 'turbofan'] : [])].join('\t'))
for (let r = 0; r < ROUNDS; r++) {
  for (const spec of r % 2 ? [...SERVERS].reverse() : SERVERS) {
    const m = await measure(spec)
    if (m.skip) {
      console.log(`${spec.padEnd(34)}\tskipped: ${m.skip}`)
      continue
    }
    const total = (o) => Object.values(o).reduce((a, b) => a + b, 0)
    console.log(
      [
        spec.padEnd(34),
        mib(total(m.before)),
        mib(total(m.idle)),
        ...KINDS.map((k) => mib(m.idle[k])),
        ...(COMPILES ? [m.compiles.maglev, m.compiles.turbofan] : [])
      ].join('\t')
    )
    if (m.trimmed) {
      console.log(
        [`${spec} trimmed`.padEnd(34), '', mib(total(m.trimmed)), ...KINDS.map((k) => mib(m.trimmed[k]))].join('\t')
      )
    }
  }
}
