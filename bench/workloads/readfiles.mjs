// Workload 2: readFile of many small files (0.5–16 KiB, spread over 100
// directories), 64 in flight for the async contenders. The file list is
// visited in a seeded shuffled order and cycled until the time is up.
import fs from 'node:fs'
import { shuffle } from '../util.mjs'
import { promiseLoops, callbackChains, syncLoop, deadline } from './common.mjs'

function paths(p) {
  const { files } = JSON.parse(fs.readFileSync(p.manifest, 'utf8'))
  const list = shuffle(
    files.map((f) => f.path),
    p.seed
  )
  let i = 0
  return () => list[i++ % list.length]
}

export default {
  name: 'readfiles',
  title: 'readFile of small files (0.5–16 KiB)',
  unit: 'files/s',
  op: 'file',
  contenders: ['boros', 'boros-cb', 'fsp', 'cb', 'sync', 'fsp-uring', 'cb-uring'],
  configs: (o) => [{ label: `${o.treeFiles} files, qd=${o.treeQd}`, qd: o.treeQd }],

  async promise(fsp, p, seconds) {
    const next = paths(p)
    return promiseLoops(p.qd, deadline(seconds), async () => (await fsp.readFile(next())).length)
  },

  callback(nodefs, p, seconds) {
    const next = paths(p)
    return callbackChains(p.qd, deadline(seconds), (_i, cb) =>
      nodefs.readFile(next(), (err, data) => (err ? cb(err) : cb(null, data.length)))
    )
  },

  sync(nodefs, p, seconds) {
    const next = paths(p)
    return syncLoop(deadline(seconds), () => nodefs.readFileSync(next()).length)
  }
}
