// Workload 1: random 4 KiB reads of a cached big file, N reads in flight.
// Offsets come from a seeded xorshift32 and are block aligned; every contender
// draws the same sequence of offsets (one generator per process, shared by the
// in-flight loops).
import { xorshift32 } from '../util.mjs'
import { promiseLoops, callbackChains, syncLoop, deadline } from './common.mjs'

function offsets(p) {
  const rnd = xorshift32(p.seed)
  const blocks = Math.floor(p.fileSize / p.block)
  return () => (rnd() % blocks) * p.block
}

function check(n, p) {
  if (n !== p.block) throw new Error(`short read: ${n} of ${p.block} bytes`)
  return n
}

export default {
  name: 'randread',
  title: 'Random 4 KiB reads of a cached file',
  unit: 'ops/s',
  op: 'read',
  contenders: ['boros', 'boros-pool', 'boros-cb', 'fsp', 'cb', 'sync', 'fsp-uring', 'cb-uring', 'native', 'fio'],
  configs: (o) => o.qds.map((qd) => ({ label: `qd=${qd}`, qd })),

  async promise(fsp, p, seconds) {
    const next = offsets(p)
    const fh = await fsp.open(p.file, 'r')
    const alloc = fsp.alloc ?? (() => Buffer.alloc(p.block))
    const bufs = Array.from({ length: p.qd }, () => alloc())
    try {
      return await promiseLoops(p.qd, deadline(seconds), async (i) =>
        check((await fh.read(bufs[i], 0, p.block, next())).bytesRead, p)
      )
    } finally {
      await fh.close()
    }
  },

  async callback(fs, p, seconds) {
    const next = offsets(p)
    const fd = fs.openSync(p.file, 'r')
    const bufs = Array.from({ length: p.qd }, () => Buffer.alloc(p.block))
    try {
      return await callbackChains(p.qd, deadline(seconds), (i, cb) =>
        fs.read(fd, bufs[i], 0, p.block, next(), (err, n) => (err ? cb(err) : cb(null, check(n, p))))
      )
    } finally {
      fs.closeSync(fd)
    }
  },

  sync(fs, p, seconds) {
    const next = offsets(p)
    const fd = fs.openSync(p.file, 'r')
    const buf = Buffer.alloc(p.block)
    try {
      return syncLoop(deadline(seconds), () => check(fs.readSync(fd, buf, 0, p.block, next()), p))
    } finally {
      fs.closeSync(fd)
    }
  },

  native: (p) => ['--file', p.file, '--qd', String(p.qd), '--seconds', String(p.seconds), '--block', String(p.block)],

  fio: (p) => [
    '--name=randread',
    `--filename=${p.file}`,
    '--rw=randread',
    `--bs=${p.block}`,
    `--iodepth=${p.qd}`,
    `--size=${p.fileSize}`,
    '--norandommap',
    `--randseed=${p.seed}`
  ]
}
