// The README's echo and http blocks are generated from a results file (bench/readme-table.mjs),
// never typed: the writer replaces only its own marked block, refuses a README without it, and
// puts the echo run's system-call and peak-RSS figures under its table.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import test from 'ava'
import { netKind, writeNetReadme } from '../bench/readme-table.mjs'

const cell = (contender, config, rate, extra = {}) => ({
  workload: 'echo',
  title: 'TCP echo on loopback',
  config,
  unit: 'req/s',
  base: 'node-net',
  net: true,
  contender,
  rate,
  cpuPerOpUs: 5,
  p99Us: 700,
  clientCpuPct: 80,
  ...extra
})
const meta = {
  date: '2026-12-06T16:43:29.788Z',
  machine: { cpu: 'cpu', cores: 2, kernel: '6.18' },
  node: { version: 'v20.20.2', libuv: '1.46.0' },
  rounds: 1
}
const echoDoc = {
  meta,
  results: [
    cell('node-net', '64 B x 64 conns', 100_000, { syscallsPerOp: 2.21 }),
    cell('boros-net', '64 B x 64 conns', 150_000, { syscallsPerOp: 0.04 }),
    cell('node-net', '16 KiB x 1000 conns', 60_000, { maxRSSKiB: 96 * 1024 }),
    cell('boros-net', '16 KiB x 1000 conns', 50_000, { maxRSSKiB: 191 * 1024 }),
    cell('node-net', 'idle x 10000 conns (RSS)', 0, { idle: true, rssIdleKiB: 91 * 1024, perConnKiB: 4.7 }),
    cell('boros-net', 'idle x 10000 conns (RSS)', 0, { idle: true, rssIdleKiB: 80 * 1024, perConnKiB: 2.5 })
  ]
}

function tmp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-readme-'))
  return { dir, readme: path.join(dir, 'README.md') }
}

test('an echo-only run replaces only its block, with the figures under the table', (t) => {
  const { dir, readme } = tmp()
  const before = 'intro\n<!-- bench:echo-node20:begin -->\nold figures\n<!-- bench:echo-node20:end -->\noutro\n'
  fs.writeFileSync(readme, before)
  t.is(netKind(echoDoc), 'echo')
  writeNetReadme(echoDoc, 'echo', readme, dir)
  const after = fs.readFileSync(readme, 'utf8')
  t.true(after.startsWith('intro\n<!-- bench:echo-node20:begin -->\n'))
  t.true(after.endsWith('<!-- bench:echo-node20:end -->\noutro\n'))
  t.false(after.includes('old figures'))
  t.regex(after, /\| 64 B x 64 conns \| 100k, 5\.0 µs CPU, p99 0\.7 ms \|.*150k \(1\.50x\)/)
  t.regex(after, /node:net 2\.21, boros\/net `Socket` \(stream\) 0\.04\./)
  t.regex(after, /node:net 96 MiB, boros\/net `Socket` \(stream\) 191 MiB\./)
  t.regex(after, /\| idle x 10000 conns \(RSS\) \| 91 MiB \(4\.7 KiB\/conn\) \|.*80 MiB \(2\.5 KiB\/conn\)/)
  t.regex(after, /10,000 idle connections: node:net 4\.7 KiB, boros\/net `Socket` \(stream\) 2\.5 KiB\./)
  t.true(fs.existsSync(path.join(dir, 'echo-node20.svg')))
})

test('a README without the block is refused and left unchanged', (t) => {
  const { dir, readme } = tmp()
  fs.writeFileSync(readme, 'no markers here\n<!-- bench:http-node20:begin -->\n<!-- bench:http-node20:end -->\n')
  t.throws(() => writeNetReadme(echoDoc, 'echo', readme, dir), { message: /no <!-- bench:echo-node20:begin -->/ })
  t.is(fs.readFileSync(readme, 'utf8').startsWith('no markers here'), true)
})

test('a mixed run is neither echo-only nor http-only', (t) => {
  const mixed = { meta, results: [...echoDoc.results, { ...echoDoc.results[0], workload: 'http' }] }
  t.is(netKind(mixed), null)
  t.is(netKind({ meta, results: [] }), null)
})
