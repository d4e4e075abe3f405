// Workload 4: a stat storm over the small-file tree (path-based stat), 64 in
// flight for the async contenders, cycling over the files in a seeded order.
// Runs for a fixed time; the full suite typically does 100,000+ stats per contender.
import fs from 'node:fs'
import { shuffle } from '../util.mjs'
import { promiseLoops, callbackChains, syncLoop, deadline } from './common.mjs'

function paths(p) {
  const { files } = JSON.parse(fs.readFileSync(p.manifest, 'utf8'))
  const list = shuffle(
    files.map((f) => f.path),
    p.seed + 1
  )
  let i = 0
  return () => list[i++ % list.length]
}

export default {
  name: 'statstorm',
  title: 'stat() storm over the small-file tree',
  unit: 'stats/s',
  op: 'stat',
  contenders: ['boros', 'boros-cb', 'fsp', 'cb', 'sync', 'fsp-uring', 'cb-uring'],
  configs: (o) => [{ label: `${o.treeFiles} files, qd=${o.treeQd}`, qd: o.treeQd }],

  async promise(fsp, p, seconds) {
    const next = paths(p)
    return promiseLoops(p.qd, deadline(seconds), async () => {
      await fsp.stat(next())
      return 0
    })
  },

  callback(nodefs, p, seconds) {
    const next = paths(p)
    return callbackChains(p.qd, deadline(seconds), (_i, cb) => nodefs.stat(next(), (err) => cb(err, 0)))
  },

  sync(nodefs, p, seconds) {
    const next = paths(p)
    return syncLoop(deadline(seconds), () => {
      nodefs.statSync(next())
      return 0
    })
  }
}
