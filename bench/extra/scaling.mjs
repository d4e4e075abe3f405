#!/usr/bin/env node
// Worker scaling: random 4 KiB reads at 64 in flight per worker_thread, each boros worker with
// its own ring, for 1 and 2 workers (and more with --workers), against node:fs/promises in the
// same worker layout (whose workers share libuv's one threadpool).
//
//   node bench/extra/scaling.mjs [--workers 1,2] [--seconds 3] [--file PATH]   (npm run bench:scaling)
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')

if (!isMainThread) {
  const { api, file, seconds, seed, qd } = workerData
  const mod = api === 'boros' ? await import(path.join(REPO, 'dist/fs/index.js')) : await import('node:fs/promises')
  const blocks = Math.floor(fs.statSync(file).size / 4096)
  let x = seed
  const next = () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return ((x >>> 0) % blocks) * 4096
  }
  const fh = await mod.open(file, 'r')
  let ops = 0
  const run = async (ms) => {
    const end = performance.now() + ms
    await Promise.all(
      Array.from({ length: qd }, async () => {
        const buf = Buffer.alloc(4096)
        while (performance.now() < end) {
          await fh.read(buf, 0, 4096, next())
          ops++
        }
      })
    )
  }
  await run(300) // warm-up
  parentPort.postMessage({ ready: true })
  await new Promise((r) => parentPort.once('message', r)) // start together
  ops = 0
  const cpu0 = process.cpuUsage()
  await run(seconds * 1000)
  const cpu = process.cpuUsage(cpu0)
  await fh.close()
  parentPort.postMessage({ ops, cpu: (cpu.user + cpu.system) / 1e6 })
} else {
  const { values: args } = parseArgs({
    options: {
      workers: { type: 'string', default: '1,2' },
      seconds: { type: 'string', default: '3' },
      file: { type: 'string' },
      qd: { type: 'string', default: '64' }
    }
  })
  const file = args.file ?? path.join(REPO, '.bench-data/big-1024MiB.bin')
  if (!fs.existsSync(file)) {
    console.error(`${file} is missing: run npm run bench -- --only randread once to make it, or pass --file`)
    process.exit(2)
  }
  const seconds = Number(args.seconds)
  const rows = []
  for (const n of args.workers.split(',').map(Number)) {
    for (const api of ['boros', 'fsp']) {
      const ws = Array.from(
        { length: n },
        (_, i) =>
          new Worker(new URL(import.meta.url), {
            workerData: { api, file, seconds, seed: 0x2545f491 + i, qd: Number(args.qd) }
          })
      )
      await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))))
      const t0 = performance.now()
      const done = ws.map((w) => new Promise((r) => w.once('message', r)))
      for (const w of ws) w.postMessage('go')
      const results = await Promise.all(done)
      const wall = (performance.now() - t0) / 1000
      const ops = results.reduce((a, r) => a + r.ops, 0)
      const cpu = results.reduce((a, r) => a + r.cpu, 0)
      rows.push({ api, workers: n, opsPerSec: Math.round(ops / wall), cpuUsPerOp: +((cpu / ops) * 1e6).toFixed(2) })
      process.stderr.write(`  ${api} x${n}: ${Math.round(ops / wall).toLocaleString()} reads/s\n`)
      await Promise.all(ws.map((w) => w.terminate()))
    }
  }
  console.log(JSON.stringify(rows))
  console.log('workers | boros reads/s | fs/promises reads/s | boros / fs/promises | boros CPU µs/read (thread)')
  for (const n of args.workers.split(',').map(Number)) {
    const b = rows.find((r) => r.api === 'boros' && r.workers === n)
    const f = rows.find((r) => r.api === 'fsp' && r.workers === n)
    console.log(
      `${n} | ${b.opsPerSec.toLocaleString()} | ${f.opsPerSec.toLocaleString()} | ${(b.opsPerSec / f.opsPerSec).toFixed(2)}x | ${b.cpuUsPerOp}`
    )
  }
}
