// Workload 3b: write a big file sequentially in 128 KiB blocks, one write in
// flight, then fsync. The time includes the fsync, so this mostly measures the
// disk's write-back; it stops early (and still fsyncs) when the time cap is hit.
//
// The file is laid out once (prepare) and every contender overwrites it in place (`r+`): its
// pages stay in the page cache between contenders, so the writes measure the runtime's path
// and the fsync the disk, not the allocation of fresh page-cache pages. On this project's VMs
// (virtio-balloon free page reporting) a page freed by one contender's file and handed back to
// the host costs a host fault when the next contender's write first touches it: the kernel's copy
// into the page cache (copy_folio_from_iter_atomic in perf) then took 3-7x as long, for
// fs/promises and boros alike, in whichever round the host had reclaimed the memory (1 GiB:
// 0.7 s right after freeing vs 2.5-5 s after 8 s idle). docs/files-internals.md, "Writes".
import fs from 'node:fs'
import { spawnSync } from 'node:child_process'
import { xorshift32, fillRandom, MiB } from '../util.mjs'
import { promiseLoops, callbackChains, syncLoop, deadline, STOP } from './common.mjs'

// One seeded 1 MiB pattern; block k is a slice of it.
function pattern(p) {
  const buf = Buffer.allocUnsafe(MiB)
  fillRandom(buf, xorshift32(p.seed))
  return buf
}

function cursor(p) {
  let pos = 0
  return () => {
    if (pos >= p.writeSize) return STOP
    const at = pos
    pos += p.block
    return at
  }
}

const slice = (_pat, pos, p) => ((pos % MiB) + p.block <= MiB ? pos % MiB : 0)

export default {
  name: 'seqwrite',
  title: 'Sequential 128 KiB writes over a cached file + final fsync',
  unit: 'MB/s',
  op: '128 KiB write',
  warmup: false, // writing is the whole job: no JIT warm-up pass (it would write the file twice)
  contenders: [
    'boros',
    'boros-wring',
    'boros-wasync',
    'boros-wpool',
    'boros-wb',
    'boros-wsynced',
    'fsp',
    'cb',
    'sync',
    'fsp-uring',
    'cb-uring',
    'fio'
  ],
  configs: (o) => [{ label: `bs=${o.seqBlock / 1024}k`, qd: 1, block: o.seqBlock }],
  timeCap: 4, // seconds multiplier: the run may take up to 4x the nominal duration

  async promise(fsp, p, seconds) {
    const next = cursor(p)
    const pat = pattern(p)
    const fh = await fsp.open(p.writeFile, 'r+')
    try {
      const r = await promiseLoops(p.qd, deadline(seconds), async () => {
        const pos = next()
        if (pos === STOP) return STOP
        return (await fh.write(pat, slice(pat, pos, p), p.block, pos)).bytesWritten
      })
      if (typeof fh.sync === 'function') await fh.sync()
      else if (typeof fh.datasync === 'function') await fh.datasync()
      else throw new Error('FileHandle has neither sync() nor datasync()')
      return r
    } finally {
      await fh.close()
    }
  },

  async callback(nodefs, p, seconds) {
    const next = cursor(p)
    const pat = pattern(p)
    const fd = nodefs.openSync(p.writeFile, 'r+')
    try {
      const r = await callbackChains(p.qd, deadline(seconds), (_i, cb) => {
        const pos = next()
        if (pos === STOP) return cb(null, STOP)
        nodefs.write(fd, pat, slice(pat, pos, p), p.block, pos, cb)
      })
      await new Promise((res, rej) => nodefs.fsync(fd, (e) => (e ? rej(e) : res())))
      return r
    } finally {
      nodefs.closeSync(fd)
    }
  },

  sync(nodefs, p, seconds) {
    const next = cursor(p)
    const pat = pattern(p)
    const fd = nodefs.openSync(p.writeFile, 'r+')
    try {
      const r = syncLoop(deadline(seconds), () => {
        const pos = next()
        return pos === STOP ? STOP : nodefs.writeSync(fd, pat, slice(pat, pos, p), p.block, pos)
      })
      nodefs.fsyncSync(fd)
      return r
    } finally {
      nodefs.closeSync(fd)
    }
  },

  // Called by the orchestrator before every contender: the file laid out at full size (once),
  // cached, with no dirty pages left over from the previous contender.
  prepare(p) {
    let size = -1
    try {
      size = fs.statSync(p.writeFile).size
    } catch {}
    if (size !== p.writeSize) {
      const fd = fs.openSync(p.writeFile, 'w')
      const zero = Buffer.alloc(MiB)
      for (let at = 0; at < p.writeSize; at += MiB) fs.writeSync(fd, zero, 0, Math.min(MiB, p.writeSize - at), at)
      fs.fsyncSync(fd)
      fs.closeSync(fd)
    }
    spawnSync('sync')
  },

  native: null, // the native example only reads

  fio: (p) => [
    '--name=seqwrite',
    `--filename=${p.writeFile}`,
    '--rw=write',
    `--bs=${p.block}`,
    `--iodepth=${p.qd}`,
    `--size=${p.writeSize}`,
    '--end_fsync=1',
    '--fallocate=none'
  ]
}
