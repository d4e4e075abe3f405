// The descriptor kinds the write path tells apart (write-routes, write-behind): a regular file,
// a FIFO, /dev/null (a character device) and an O_DIRECT file, all under `dir`. Returns
// `fn`'s result for { name: route of that descriptor } and closes them whatever happens.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { learnRoute } from '../../dist/fs/descriptor-route.js'

export function routesOfDescriptorKinds(dir, fn) {
  const fifo = path.join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const fds = {
    file: fs.openSync(path.join(dir, 'f'), 'w'),
    fifo: fs.openSync(fifo, 'r+'),
    devnull: fs.openSync('/dev/null', 'w'),
    direct: fs.openSync(path.join(dir, 'd'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DIRECT)
  }
  try {
    return Object.fromEntries(Object.entries(fds).map(([k, fd]) => [k, fn(learnRoute(fd))]))
  } finally {
    for (const fd of Object.values(fds)) fs.closeSync(fd)
  }
}
