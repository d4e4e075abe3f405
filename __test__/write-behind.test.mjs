// Write-behind (src-ts/fs/write-behind.ts): past 32 MiB, every 8 MiB of buffered writes through a
// FileHandle on a disk-backed file system starts the write-back of the file (one sync_file_range
// op), and the bytes are the same as without it. By default on the ring only for a file that will
// be synced (writeFile with flush: true, a handle or descriptor synced once), and for the others on
// the binding's idle-priority thread (no ring op: counted by `idleStarts`); every large file on the
// ring with BOROS_WRITE_BEHIND=1 (forced `true` here); not below 32 MiB, not on tmpfs, FIFOs or
// O_DIRECT files, nor when turned off.
// These tests assume BOROS_WRITE_BEHIND is not set in the environment (the default mode).
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runtime, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import * as bcb from '../dist/fs/callback.js'
import { routesOfDescriptorKinds } from './helpers/descriptors.mjs'
import {
  _forceKernelBackground,
  _forceWriteBehind,
  idleStarts,
  WRITE_BEHIND_AFTER,
  WRITE_BEHIND_BYTES,
  writesBehind
} from '../dist/fs/write-behind.js'
import { notOnRing, unless } from './helpers/skip.mjs'

const TMPFS_MAGIC = 0x01021994
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
// A disk-backed directory: the temp directory unless it is tmpfs, then the repo's own (ext4 here).
const base = fs.statfsSync(os.tmpdir()).type === TMPFS_MAGIC ? path.join(root, '.bench-data') : os.tmpdir()
fs.mkdirSync(base, { recursive: true })
const diskBacked = fs.statfsSync(base).type !== TMPFS_MAGIC
const dir = fs.mkdtempSync(path.join(base, 'boros-wbehind-'))
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

const BLOCK = 128 * 1024
const TOTAL = WRITE_BEHIND_AFTER + 2 * WRITE_BEHIND_BYTES
// The kernel's background threshold as write-behind sees it: out of reach unless a test sets it
// (on a machine with less than ~480 MiB available, the real one is below TOTAL).
const NO_BACKGROUND = Number.POSITIVE_INFINITY
_forceKernelBackground(NO_BACKGROUND)

/**
 * Waits until no ring op is in flight: the write-back start a write triggered is over before the
 * next write, so every mark starts one (on a loaded machine a start can outlast the next 8 MiB,
 * and the mark it covers then has none: one in flight at a time).
 */
async function settled() {
  while (stats().inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1))
}

/**
 * `total` bytes in awaited BLOCK writes, each settled; the ring ops beyond one per write (the
 * write-back starts). `on`: true (always), false (off), undefined (the default mode); `syncFirst`: the
 * handle is synced once before the writes (its fsync not counted).
 */
async function writeOut(file, on, total = TOTAL, syncFirst = false, flag = 'w') {
  const pattern = Buffer.alloc(BLOCK)
  const fh = await bfs.open(file, flag)
  _forceWriteBehind(on)
  try {
    if (syncFirst) await fh.sync()
    const before = stats().opsSubmitted
    for (let at = 0; at < total; at += BLOCK) {
      pattern.fill(at / BLOCK)
      same((await fh.write(pattern, 0, BLOCK, at)).bytesWritten, BLOCK)
      await settled()
    }
    return stats().opsSubmitted - before - total / BLOCK
  } finally {
    _forceWriteBehind(undefined)
    await fh.close()
  }
}
function same(a, b) {
  if (a !== b) throw new Error(`${a} !== ${b}`)
}
function expected(total = TOTAL) {
  const out = Buffer.alloc(total)
  for (let at = 0; at < total; at += BLOCK) out.fill(at / BLOCK, at, at + BLOCK)
  return out
}

// Decided at load time: where no directory is disk-backed these say skipped, not passed.
// Write-back starts are ring ops (counted in stats()): off the ring there are none to count.
const onRing = runtime().backend === 'io_uring'
const why = !onRing
  ? `this process is on the ${runtime().backend} backend (write-back starts are ring ops)`
  : !diskBacked
    ? 'no disk-backed directory here'
    : undefined
const diskTest = unless(why, { serial: true })
diskTest(
  '48 MiB of 128 KiB writes start the write-back at 32 MiB, then every 8 MiB; the file is the same',
  async (t) => {
    const file = path.join(dir, 'on')
    const starts = await writeOut(file, true)
    // At 32, 40 and 48 MiB.
    t.is(starts, 3)
    t.true(fs.readFileSync(file).equals(expected()))
  }
)

diskTest('a file of less than 32 MiB is left to the kernel: no write-back start', async (t) => {
  const file = path.join(dir, 'small')
  const total = WRITE_BEHIND_AFTER - BLOCK
  t.is(await writeOut(file, true, total), 0)
  t.true(fs.readFileSync(file).equals(expected(total)))
})

/** The idle write-back starts (queued or dropped) made while `fn` runs. */
async function idleDuring(fn) {
  const before = idleStarts.queued + idleStarts.dropped
  const ringStarts = await fn()
  return { ring: ringStarts, idle: idleStarts.queued + idleStarts.dropped - before }
}

/** A file of `TOTAL` bytes laid out (its blocks allocated), for in-place overwrites. */
function laidOut(name) {
  const file = path.join(dir, name)
  fs.writeFileSync(file, Buffer.alloc(TOTAL, 0xff))
  return file
}

diskTest('default mode: a large overwrite nothing syncs is written behind on idle CPU only (no ring op)', async (t) => {
  const file = laidOut('unsynced')
  // At 32, 40 and 48 MiB, on the idle thread.
  t.deepEqual(await idleDuring(() => writeOut(file, undefined, TOTAL, false, 'r+')), { ring: 0, idle: 3 })
  t.true(fs.readFileSync(file).equals(expected()))
  // BOROS_WRITE_BEHIND=synced (the previous default): left to the kernel, as with node:fs.
  const again = (on) => idleDuring(() => writeOut(laidOut(`unsynced-${on}`), on, TOTAL, false, 'r+'))
  t.deepEqual(await again('synced'), { ring: 0, idle: 0 })
  // Always: on the ring, none idle; off: none.
  t.deepEqual(await again(true), { ring: 3, idle: 0 })
  t.deepEqual(await again(false), { ring: 0, idle: 0 })
})

diskTest(
  'default mode: a new file nothing syncs is left to the kernel (its write-back would allocate blocks)',
  async (t) => {
    const file = path.join(dir, 'unsynced-new')
    t.deepEqual(await idleDuring(() => writeOut(file, undefined)), { ring: 0, idle: 0 })
    t.true(fs.readFileSync(file).equals(expected()))
    // Writes past the end of a laid-out file: those are not overwrites either.
    const short = path.join(dir, 'unsynced-short')
    fs.writeFileSync(short, Buffer.alloc(BLOCK))
    t.deepEqual(await idleDuring(() => writeOut(short, undefined, TOTAL, false, 'r+')), { ring: 0, idle: 0 })
  }
)

diskTest('default mode: the callback API writes a large overwrite nothing syncs behind on idle CPU', async (t) => {
  const file = laidOut('cb-unsynced')
  const fd = fs.openSync(file, 'r+')
  const pattern = Buffer.alloc(BLOCK)
  const before = idleStarts.queued + idleStarts.dropped
  try {
    for (let at = 0; at < TOTAL; at += BLOCK) {
      pattern.fill(at / BLOCK)
      const n = await new Promise((resolve, reject) =>
        bcb.write(fd, pattern, 0, BLOCK, at, (err, written) => (err ? reject(err) : resolve(written)))
      )
      same(n, BLOCK)
    }
  } finally {
    // boros' close: it forgets the number's write-behind count (Node's closeSync would not).
    await new Promise((resolve) => bcb.close(fd, resolve))
  }
  t.is(idleStarts.queued + idleStarts.dropped - before, 3)
  t.true(fs.readFileSync(file).equals(expected()))
})

diskTest('default mode: a handle synced once is written behind from then on', async (t) => {
  const file = path.join(dir, 'synced')
  const starts = await writeOut(file, undefined, TOTAL, true)
  t.is(starts, 3)
  t.true(fs.readFileSync(file).equals(expected()))
})

diskTest('default mode: a new handle of a file synced before in this process is written behind', async (t) => {
  const file = path.join(dir, 'synced-before')
  fs.writeFileSync(file, '')
  const fh = await bfs.open(file, 'r+')
  await fh.sync()
  await fh.close()
  // Another path to the same file (a hard link): the same device and inode.
  fs.linkSync(file, `${file}-link`)
  const starts = await writeOut(`${file}-link`, undefined)
  t.is(starts, 3)
  t.true(fs.readFileSync(file).equals(expected()))
  // Another file is not.
  t.is(await writeOut(path.join(dir, 'never-synced'), undefined), 0)
})

diskTest(
  "default mode: an unsynced file is written behind once its writes pass the kernel's background threshold",
  async (t) => {
    const file = path.join(dir, 'past-background')
    // As if vm.dirty_background_bytes were 40 MiB: from 40 MiB on, the kernel writes back anyway.
    _forceKernelBackground(WRITE_BEHIND_AFTER + WRITE_BEHIND_BYTES)
    try {
      const starts = await writeOut(file, undefined)
      // At 40 MiB (everything written before it), then at 48.
      t.is(starts, 2)
    } finally {
      _forceKernelBackground(NO_BACKGROUND)
    }
    t.true(fs.readFileSync(file).equals(expected()))
    // A threshold past the file's end: none.
    _forceKernelBackground(TOTAL + BLOCK)
    try {
      t.is(await writeOut(path.join(dir, 'below-background'), undefined), 0)
    } finally {
      _forceKernelBackground(NO_BACKGROUND)
    }
  }
)

diskTest('default mode: writeFile with flush: true is written behind, without flush it is not', async (t) => {
  const data = expected()
  const ops = async (name, flush) => {
    const before = stats().opsSubmitted
    await bfs.writeFile(path.join(dir, name), data, { flush })
    t.true(fs.readFileSync(path.join(dir, name)).equals(data))
    return stats().opsSubmitted - before
  }
  const plain = await ops('wf-plain', false)
  const flushed = await ops('wf-flush', true)
  // The flushed one has its fsync and at least one write-back start more (the writes are the
  // same; more than one unless the first outlasts the next 8 MiB on a loaded machine).
  t.true(flushed - plain >= 2, `${flushed} ops with flush vs ${plain} without`)
})

diskTest('default mode: createWriteStream with flush: true is written behind, without flush it is not', async (t) => {
  const data = expected()
  const ops = async (name, flush) => {
    const before = stats().opsSubmitted
    const ws = bfs.createWriteStream(path.join(dir, name), { flush, highWaterMark: BLOCK })
    for (let at = 0; at < data.length; at += BLOCK) {
      if (!ws.write(data.subarray(at, at + BLOCK))) await new Promise((resolve) => ws.once('drain', resolve))
    }
    // 'close': the stream's fsync and close are done (its 'finish' comes before them).
    await new Promise((resolve, reject) => {
      ws.once('error', reject)
      ws.once('close', resolve)
      ws.end()
    })
    t.true(fs.readFileSync(path.join(dir, name)).equals(data))
    return stats().opsSubmitted - before
  }
  const plain = await ops('ws-plain', false)
  const flushed = await ops('ws-flush', true)
  // The flushed one has its fsync and at least one write-back start more (the writes are the
  // same; more than one unless the first outlasts the next 8 MiB on a loaded machine).
  t.true(flushed - plain >= 2, `${flushed} ops with flush vs ${plain} without`)
})

diskTest('the callback API: fs.write on a descriptor synced once starts the write-back past 32 MiB too', async (t) => {
  const file = path.join(dir, 'cb')
  const fd = fs.openSync(file, 'w')
  const pattern = Buffer.alloc(BLOCK)
  await new Promise((resolve, reject) => bcb.fsync(fd, (err) => (err ? reject(err) : resolve())))
  const before = stats().opsSubmitted
  try {
    for (let at = 0; at < TOTAL; at += BLOCK) {
      pattern.fill(at / BLOCK)
      const n = await new Promise((resolve, reject) =>
        bcb.write(fd, pattern, 0, BLOCK, at, (err, written) => (err ? reject(err) : resolve(written)))
      )
      same(n, BLOCK)
      await settled()
    }
    const starts = stats().opsSubmitted - before - TOTAL / BLOCK
    t.is(starts, 3)
  } finally {
    await new Promise((resolve) => bcb.close(fd, resolve))
  }
  t.true(fs.readFileSync(file).equals(expected()))
})

diskTest('turned off (BOROS_WRITE_BEHIND=0): no write-back start, the same file', async (t) => {
  const file = path.join(dir, 'off')
  t.is(await writeOut(file, false), 0)
  t.true(fs.readFileSync(file).equals(expected()))
})

const shmTmpfs = fs.existsSync('/dev/shm') && fs.statfsSync('/dev/shm').type === TMPFS_MAGIC
unless(notOnRing ?? (shmTmpfs ? undefined : '/dev/shm is not a tmpfs here'), { serial: true })(
  'tmpfs (/dev/shm): no write-back start',
  async (t) => {
    const file = fs.mkdtempSync('/dev/shm/boros-wbehind-') + '/f'
    try {
      t.is(await writeOut(file, true), 0)
      t.true(fs.readFileSync(file).equals(expected()))
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true })
    }
  }
)

// learnRoute asks the ring (a statfs op): off the ring, skipped with the reason.
unless(notOnRing)(
  'which descriptors are written behind: a regular file on disk, not a FIFO, /dev/null or O_DIRECT',
  (t) => {
    const behind = routesOfDescriptorKinds(dir, writesBehind)
    t.deepEqual(behind, { file: diskBacked, fifo: false, devnull: false, direct: false })
  }
)
