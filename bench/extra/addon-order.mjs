// Which of the addon's functions a boros/net echo server runs, in the order it first runs them
// (issue 21, docs/net.md "The memory targets, accounted once more", fourteenth round). The
// kernel maps 64 KiB of a cached file around each page fault, so the addon's text is resident
// wherever the functions a server runs are spread; linked first, they would take a few windows.
//
// The server of bench/net/server.mjs runs under gdb with a one-shot breakpoint on each function
// of the addon (its symbol table: `nm`), through its start-up, an idle burst of N connections
// that each echo one 64 B message (bench/net/idle-client.mjs), and 2 s each of 16 KiB and 64 B
// echo on 50 connections (the suite's echo_client). Prints how many functions ran, their size,
// and the 4 KiB pages and 64 KiB windows of the text they are on now; with --out FILE, writes
// their names in first-run order, one a line: an LLD `--symbol-ordering-file`. A measurement
// tool: the build does not use it (see the docs for why). Needs gdb and nm.
//
//   node bench/extra/addon-order.mjs [--tree DIR] [--conns 300] [--node PATH] [--out FILE]
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { REPO, serverPort, sleep } from '../net/common.mjs'
import { ensureEchoExamples } from '../net/externals.mjs'

const { values: a } = parseArgs({
  options: {
    tree: { type: 'string', default: REPO },
    conns: { type: 'string', default: '300' },
    node: { type: 'string', default: process.execPath },
    out: { type: 'string' }
  }
})
const TREE = path.resolve(a.tree)
const addon = fs.readdirSync(TREE).find((f) => f.endsWith('.node'))
if (!addon) throw new Error(`no addon (*.node) in ${TREE}: build it first`)
const ADDON = path.join(TREE, addon)
const { client: CLIENT, skip } = ensureEchoExamples({ build: false })
if (skip) throw new Error(skip)

// Every function of the addon: offset -> [size, name].
const fns = new Map()
for (const line of execFileSync('nm', ['-S', '--defined-only', ADDON], { encoding: 'utf8' }).split('\n')) {
  const [addr, size, kind, name] = line.split(' ')
  if (name && /^[tTW]$/.test(kind)) fns.set(Number.parseInt(addr, 16), [Number.parseInt(size, 16), name])
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-addon-order-'))
const offsets = path.join(dir, 'offsets')
const hits = path.join(dir, 'hits')
fs.writeFileSync(offsets, [...fns.keys()].map((o) => o.toString(16)).join('\n'))
// Stops at the addon's load, sets a one-shot breakpoint on each function, then records the
// offset of every stop until the process exits.
const script = path.join(dir, 'trace.py')
fs.writeFileSync(
  script,
  `import gdb
for c in ['set pagination off', 'set confirm off', 'handle all nostop noprint pass', 'catch load ${addon}']:
    gdb.execute(c)
gdb.execute('run', to_string=True)
base = next(int(l.split()[0], 16) for l in gdb.execute('info proc mappings', to_string=True).splitlines() if '${addon}' in l)
gdb.execute('delete')
for o in open('${offsets}').read().split():
    gdb.execute('tbreak *%#x' % (base + int(o, 16)), to_string=True)
out = open('${hits}', 'w')
while True:
    try:
        gdb.execute('continue', to_string=True)
        out.write('%x\\n' % (int(gdb.parse_and_eval('$pc')) - base))
        out.flush()
    except gdb.error:
        break
`
)

const json = JSON.stringify({ server: 'echo-boros-net', port: 0, workers: 1 })
const srv = spawn('sh', [
  '-c',
  'ulimit -n 20000 && exec gdb -q -batch -x "$@"',
  'sh',
  script,
  '--args',
  a.node,
  path.join(TREE, 'bench/net/server.mjs'),
  json
])
const { port, skip: why } = await serverPort(srv, 180_000)
if (!port) throw new Error(`the server did not start: ${why}`)
const idle = spawn(a.node, [path.join(REPO, 'bench/net/idle-client.mjs'), port, a.conns, 'echo'])
let got = ''
idle.stdout.on('data', (d) => (got += d))
while (!/^(READY|FAILED)/m.test(got) && idle.exitCode == null) await sleep(50)
idle.stdin.end('close\n')
await sleep(500)
for (const size of ['16384', '64']) {
  const c = spawn(CLIENT, ['--addr', `127.0.0.1:${port}`, '--conns', '50', '--size', size, '--seconds', '2'])
  await new Promise((resolve) => c.once('exit', resolve))
}
srv.stdin.end('exit\n')
await new Promise((resolve) => srv.once('exit', resolve))

const ran = fs
  .readFileSync(hits, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((h) => Number.parseInt(h, 16))
  .filter((o) => fns.has(o))
const pages = new Set()
let bytes = 0
for (const o of ran) {
  const [size] = fns.get(o)
  bytes += size
  for (let p = Math.floor(o / 4096); p <= Math.floor((o + Math.max(size, 1) - 1) / 4096); p++) pages.add(p)
}
const windows = new Set([...pages].map((p) => Math.floor(p / 16)))
console.log(
  `${addon}: ${ran.length} of ${fns.size} functions ran, ${(bytes / 1024).toFixed(0)} KiB, on ${pages.size} pages in ${windows.size} windows of 64 KiB`
)
if (a.out) {
  fs.writeFileSync(a.out, `${ran.map((o) => fns.get(o)[1]).join('\n')}\n`)
  console.log(`names in first-run order: ${a.out}`)
}
fs.rmSync(dir, { recursive: true, force: true })
