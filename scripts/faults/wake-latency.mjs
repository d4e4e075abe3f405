#!/usr/bin/env node
// Fault script (issue 24 item 10): single-connection round trips where every reply wakes a loop
// that was asleep. On some kernels a DEFER_TASKRUN ring's eventfd fires ~8-16 ms after the
// socket event; boros sets its rings up with COOP_TASKRUN for that reason. If that wake-up path
// regresses, each round trip here takes milliseconds instead of tens of microseconds.
//
//   node scripts/faults/wake-latency.mjs [--rounds N]     (BOROS_TASKRUN=defer: the old setup)
//
// A boros/net client talks to a boros/net echo server in a child process (both sides sleep
// between messages); node:net -> node:net in the same run is the baseline. Prints one JSON line
// ({ backend, rounds, nodeP50Us, borosP50Us, limitUs, delayed }) and exits 1 when boros' median
// round trip is over the limit: 3 ms, or 10x node:net's median when the machine is so loaded
// that node:net's own median is over 0.3 ms. A regression of the wake-up (8-16 ms per wake-up,
// twice per round trip) is far past both; scheduling noise on a shared machine is not.
import { fork } from 'node:child_process'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const bnet = await import(new URL('../../dist/net/index.js', import.meta.url))

if (process.argv[2] === '--child') {
  const lib = process.argv[3] === 'boros' ? bnet : net
  const server = lib.createServer({ noDelay: true }, (s) => {
    s.on('data', (d) => s.write(d))
    s.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => process.send(server.address().port))
  process.on('disconnect', () => process.exit(0))
} else {
  const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '40' } } })
  const rounds = Number(o.rounds)
  const nodeP50 = await median(net, 'node', rounds)
  const borosP50 = await median(bnet, 'boros', rounds)
  const limit = Math.max(3000, 10 * nodeP50)
  const delayed = borosP50 > limit
  console.log(
    JSON.stringify({
      backend: bnet.backend,
      taskRun: process.env.BOROS_TASKRUN ?? 'default',
      rounds,
      nodeP50Us: Math.round(nodeP50),
      borosP50Us: Math.round(borosP50),
      limitUs: Math.round(limit),
      delayed
    })
  )
  process.exitCode = delayed ? 1 : 0
}

/** Median round trip (µs) of 64-byte echoes, one at a time, client and server both on `lib`. */
async function median(lib, which, rounds) {
  const child = fork(new URL(import.meta.url), ['--child', which])
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
  for (let i = 0; i < rounds + 5; i++) {
    const t0 = performance.now()
    await new Promise((r) => {
      done = r
      sock.write(msg)
    })
    if (i >= 5) lat.push((performance.now() - t0) * 1000)
    // Let both loops go to sleep before the next message, as between a real client's requests.
    await new Promise((r) => setTimeout(r, 1))
  }
  sock.destroy()
  child.disconnect()
  lat.sort((a, b) => a - b)
  return lat[Math.floor(lat.length / 2)]
}
