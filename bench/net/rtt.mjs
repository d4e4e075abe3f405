// Single-connection latency: sequential 64-byte echo round trips, one at a time, the server and
// the client each a node:net or boros/net socket, the server in a child process (the issue-24
// item-10 case: every round trip wakes a loop that was asleep). Prints p50/p99/max per pairing.
//
//   node bench/net/rtt.mjs [--rounds N] [--only node,boros]
//
// Latency is not asserted anywhere: this is a measuring tool (see bench/README.md, "rtt").
import net from 'node:net'
import { performance } from 'node:perf_hooks'

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const rounds = Number(opt('--rounds', 300))
const only = opt('--only', 'node,boros').split(',')
const bnet = await import(new URL('../../dist/net/index.js', import.meta.url))

import { fork } from 'node:child_process'

// The peer: a node:net or boros/net echo server in a child process (so each wake-up of this
// process comes from another one, as with a real peer), or in this process.
if (process.argv[2] === '--child') {
  const lib = process.argv[3] === 'boros' ? bnet : net
  const server = lib.createServer({ noDelay: true }, (s) => {
    s.on('data', (d) => s.write(d))
    s.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => process.send(server.address().port))
  process.on('disconnect', () => process.exit(0))
} else {
  if (only.includes('node')) await run(net, 'node', 'node:net -> node:net')
  if (only.includes('boros')) {
    await run(bnet, 'node', `boros/net -> node:net`)
    await run(net, 'boros', `node:net -> boros/net`)
    await run(bnet, 'boros', `boros/net -> boros/net`)
  }
}

async function run(lib, serverLib, label) {
  const child = fork(new URL(import.meta.url), ['--child', serverLib])
  const port = await new Promise((r) => child.once('message', r))
  const sock = lib.connect({ port, host: '127.0.0.1', noDelay: true })
  await new Promise((r, j) => sock.once('connect', r).once('error', j))
  const msg = Buffer.alloc(64, 7)
  const lat = []
  let got = 0
  let done
  sock.on('data', (d) => {
    got += d.length
    if (got >= 64) {
      got -= 64
      done()
    }
  })
  for (let i = 0; i < rounds + 20; i++) {
    const t0 = performance.now()
    await new Promise((r) => {
      done = r
      sock.write(msg)
    })
    if (i >= 20) lat.push((performance.now() - t0) * 1000)
  }
  sock.destroy()
  child.disconnect()
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(1)
  console.log(
    `${label.padEnd(28)} rounds ${rounds}  p50 ${q(0.5).padStart(9)} us  p99 ${q(0.99).padStart(9)} us  max ${q(1).padStart(9)} us`
  )
}
