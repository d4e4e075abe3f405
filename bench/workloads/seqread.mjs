// Workload 3a: sequential reads of the cached big file in 128 KiB blocks,
// one read in flight (the shape of a plain "read the file" loop), wrapping
// around at the end of the file until the time is up.
import { promiseLoops, callbackChains, syncLoop, deadline } from './common.mjs'

function cursor(p) {
  let pos = 0
  return () => {
    const at = pos
    pos = (pos + p.block) % p.fileSize
    return at
  }
}

export default {
  name: 'seqread',
  title: 'Sequential 128 KiB reads of a cached file',
  unit: 'MB/s',
  op: '128 KiB read',
  contenders: ['boros', 'boros-pool', 'boros-cb', 'fsp', 'cb', 'sync', 'fsp-uring', 'cb-uring', 'native', 'fio'],
  configs: (o) => [{ label: `bs=${o.seqBlock / 1024}k`, qd: 1, block: o.seqBlock }],

  async promise(fsp, p, seconds) {
    const next = cursor(p)
    const fh = await fsp.open(p.file, 'r')
    const buf = fsp.alloc?.() ?? Buffer.alloc(p.block)
    try {
      return await promiseLoops(p.qd, deadline(seconds), async () => (await fh.read(buf, 0, p.block, next())).bytesRead)
    } finally {
      await fh.close()
    }
  },

  async callback(fs, p, seconds) {
    const next = cursor(p)
    const fd = fs.openSync(p.file, 'r')
    const buf = Buffer.alloc(p.block)
    try {
      return await callbackChains(p.qd, deadline(seconds), (_i, cb) => fs.read(fd, buf, 0, p.block, next(), cb))
    } finally {
      fs.closeSync(fd)
    }
  },

  sync(fs, p, seconds) {
    const next = cursor(p)
    const fd = fs.openSync(p.file, 'r')
    const buf = Buffer.alloc(p.block)
    try {
      return syncLoop(deadline(seconds), () => fs.readSync(fd, buf, 0, p.block, next()))
    } finally {
      fs.closeSync(fd)
    }
  },

  native: (p) => [
    '--file',
    p.file,
    '--qd',
    String(p.qd),
    '--seconds',
    String(p.seconds),
    '--block',
    String(p.block),
    '--seq'
  ],

  fio: (p) => [
    '--name=seqread',
    `--filename=${p.file}`,
    '--rw=read',
    `--bs=${p.block}`,
    `--iodepth=${p.qd}`,
    `--size=${p.fileSize}`
  ]
}
