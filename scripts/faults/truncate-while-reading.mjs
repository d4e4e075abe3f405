#!/usr/bin/env node
// Fault script (issue 24): readFile / FileHandle.readFile while another thread truncates the
// file. Every result must be a prefix of what the file held: never the old length with zeros
// past the cut. On ext4 with large folios (Linux 6.x) the kernel zeroes the page cache past the
// cut while a read that sampled the old size is still copying from it, so a single big read
// can return zeros; boros re-checks the size after its reads and cuts them off there.
//
//   node scripts/faults/truncate-while-reading.mjs [--impl boros|node] [--mode path|fh|callback]
//        [--size BYTES] [--runs N] [--readers N] [--dir DIR]
// Prints one JSON line ({ impl, mode, runs, reads, bad, lengths }); exits 1 when a read was
// not a prefix (for --impl node too: Node reads in 512 KiB chunks and is exposed as well).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'

const { values: o } = parseArgs({
  options: {
    impl: { type: 'string', default: 'boros' },
    mode: { type: 'string', default: 'path' },
    size: { type: 'string', default: '30000000' },
    runs: { type: 'string', default: '20' },
    readers: { type: 'string', default: '4' },
    dir: { type: 'string', default: os.tmpdir() }
  }
})
const SIZE = Number(o.size)
const RUNS = Number(o.runs)
const READERS = Number(o.readers)
const dist = new URL('../../dist/', import.meta.url)
const fsp = o.impl === 'node' ? await import('node:fs/promises') : await import(new URL('fs/index.js', dist).href)
const cbfs = o.impl === 'node' ? fs : (await import(new URL('fs/callback.js', dist).href)).default

const dir = fs.mkdtempSync(path.join(o.dir, 'boros-truncate-'))
const file = path.join(dir, 'data')
const content = Buffer.alloc(SIZE)
for (let i = 0; i < SIZE; i++) content[i] = (i % 251) + 1

// The truncating thread: waits for a go, spins a random while (so the cut lands anywhere in
// the reads), truncates to a half or a quarter (not page-aligned: the cut falls inside a
// folio, which the kernel zeroes past it), says done.
const sync = new Int32Array(new SharedArrayBuffer(8))
const worker = new Worker(
  `const fs = require('node:fs')
  const { workerData: { file, sync, size } } = require('node:worker_threads')
  for (;;) {
    Atomics.wait(sync, 0, 0)
    if (sync[0] === 2) break
    let x = 0
    for (let i = 0; i < sync[1]; i++) x += i
    fs.truncateSync(file, size >> (1 + (x & 1)))
    Atomics.store(sync, 0, 0)
  }`,
  { eval: true, workerData: { file, sync, size: SIZE } }
)
const exited = new Promise((resolve) => worker.on('exit', resolve))

function readOnce(fh) {
  if (o.mode === 'fh') return fh.readFile()
  if (o.mode === 'callback')
    return new Promise((resolve, reject) => cbfs.readFile(file, (err, data) => (err ? reject(err) : resolve(data))))
  return fsp.readFile(file)
}

let bad = 0
let reads = 0
const lengths = {}
const spin = Math.max(1, SIZE / 8)
try {
  for (let r = 0; r < RUNS; r++) {
    fs.writeFileSync(file, content)
    const handles = o.mode === 'fh' ? await Promise.all(Array.from({ length: READERS }, () => fsp.open(file))) : []
    sync[1] = Math.floor(Math.random() * spin)
    Atomics.store(sync, 0, 1)
    Atomics.notify(sync, 0)
    const got = await Promise.all(Array.from({ length: READERS }, (_, i) => readOnce(handles[i])))
    for (const fh of handles) await fh.close()
    while (Atomics.load(sync, 0) !== 0) await new Promise((resolve) => setImmediate(resolve))
    for (const data of got) {
      reads++
      lengths[data.length] = (lengths[data.length] ?? 0) + 1
      if (!content.subarray(0, data.length).equals(data)) bad++
    }
  }
} finally {
  sync[0] = 2
  Atomics.notify(sync, 0)
  await exited
  fs.rmSync(dir, { recursive: true, force: true })
}
console.log(JSON.stringify({ impl: o.impl, mode: o.mode, size: SIZE, runs: RUNS, reads, bad, lengths }))
process.exitCode = bad === 0 ? 0 : 1
