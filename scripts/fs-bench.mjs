#!/usr/bin/env node
// Small, side-by-side measurements for docs/files-internals.md (one run, one process):
//   node scripts/fs-bench.mjs route [dir=/dev/shm]   4 KiB random reads, ops/s
//   node scripts/fs-bench.mjs big [dir=os.tmpdir()]   1 GiB readFile/writeFile, ms and GiB/s
// Keep it short: the machine is shared.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { execSync } from 'node:child_process'
import * as bfs from '../dist/fs/index.js'

const [mode = 'route', dirArg] = process.argv.slice(2)

async function timeOps(label, seconds, fn) {
  const end = performance.now() + seconds * 1000
  let ops = 0
  while (performance.now() < end) ops += await fn()
  const s = (performance.now() - (end - seconds * 1000)) / 1000
  console.log(
    `${label.padEnd(44)} ${Math.round(ops / s)
      .toLocaleString('en')
      .padStart(10)} ops/s`
  )
}

async function route() {
  const dir = dirArg ?? '/dev/shm'
  const f = path.join(dir, `boros-bench-${process.pid}`)
  const SIZE = 64 << 20
  fs.writeFileSync(f, Buffer.alloc(SIZE, 1))
  const blocks = SIZE / 4096
  const QD = 64
  const bufs = Array.from({ length: QD }, () => Buffer.alloc(4096))
  const rnd = () => Math.floor(Math.random() * blocks) * 4096
  const batch = async (read) => {
    await Promise.all(bufs.map((b) => read(b)))
    return QD
  }
  console.log(`4 KiB random reads of a 64 MiB file in ${dir} (${fs.statfsSync(dir).type.toString(16)}), QD ${QD}`)
  for (let round = 0; round < 2; round++) {
    process.env.BOROS_FS_ROUTING = 'off'
    const ring = await bfs.open(f)
    await timeOps('boros FileHandle.read, io_uring (no routing)', 1, () => batch((b) => ring.read(b, 0, 4096, rnd())))
    await ring.close()
    delete process.env.BOROS_FS_ROUTING
    const routed = await bfs.open(f)
    await timeOps('boros FileHandle.read, routed', 1, () => batch((b) => routed.read(b, 0, 4096, rnd())))
    await routed.close()
    const nh = await fsp.open(f)
    await timeOps('node:fs/promises FileHandle.read', 1, () => batch((b) => nh.read(b, 0, 4096, rnd())))
    await nh.close()
    const fd = fs.openSync(f)
    await timeOps('fs.readSync loop', 1, async () => {
      for (let i = 0; i < QD; i++) fs.readSync(fd, bufs[i], 0, 4096, rnd())
      return QD
    })
    fs.closeSync(fd)
  }
  fs.rmSync(f)
}

const results = new Map()
async function time(label, fn) {
  execSync('sync') // write back dirty pages first, so one run's writeback does not slow the next
  const t0 = performance.now()
  await fn()
  const ms = performance.now() - t0
  if (!results.has(label)) results.set(label, [])
  results.get(label).push(ms)
}
function report(bytes) {
  for (const [label, all] of results) {
    const ms = all.sort((a, b) => a - b)[all.length >> 1]
    const runs = all.map((x) => x.toFixed(0)).join('/')
    console.log(
      `${label.padEnd(46)} median ${ms.toFixed(0).padStart(5)} ms  ${(bytes / 2 ** 30 / (ms / 1000)).toFixed(2)} GiB/s  (${runs})`
    )
  }
}

async function big() {
  const dir = fs.mkdtempSync(path.join(dirArg ?? os.tmpdir(), 'boros-big-'))
  const f = path.join(dir, 'src')
  const SIZE = 2 ** 30
  const data = Buffer.alloc(SIZE)
  for (let i = 0; i < SIZE; i += 4096) data.writeUInt32LE(i, i)
  fs.writeFileSync(f, data)
  console.log(`1 GiB file in ${dir} (${fs.statfsSync(dir).type.toString(16)}), cached`)
  const bounce = async () => {
    // The bounce path: FileHandle.read into a JS Buffer (kernel -> op memory -> copy).
    const fh = await bfs.open(f)
    const b = Buffer.allocUnsafeSlow(SIZE)
    for (let off = 0; off < SIZE; off += 64 << 20) await fh.read(b, off, 64 << 20, off)
    await fh.close()
  }
  const w = path.join(dir, 'w')
  for (let round = 0; round < 3; round++) {
    await time('boros readFile (owned buffer)', () => bfs.readFile(f))
    await time('boros FileHandle.read x16 via bounce copy', bounce)
    await time('node:fs/promises readFile', () => fsp.readFile(f))
    await time('fs.readFileSync', async () => fs.readFileSync(f))
    // Writes into the page cache of a file that does not exist yet (removed, then synced).
    for (const [label, fn] of [
      ['boros writeFile', () => bfs.writeFile(w, data)],
      ['node:fs/promises writeFile', () => fsp.writeFile(w, data)],
      ['fs.writeFileSync', async () => fs.writeFileSync(w, data)]
    ]) {
      await time(label, fn)
      fs.rmSync(w)
    }
  }
  report(SIZE)
  fs.rmSync(dir, { recursive: true })
}

await (mode === 'big' ? big() : route())
