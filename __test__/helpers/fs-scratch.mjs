// What the boros/fs suites (fs.test.mjs, fs-stat-close.test.mjs, fs-errors.test.mjs) share: a
// scratch folder per test file, a file opened by both modules, and the Node-24-read gate.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as bfs from '../../dist/fs/index.js'
import { notOnRing, unless } from './skip.mjs'

// Off the ring boros/fs is the running Node's node:fs/promises. Before Node 24 its
// FileHandle.read treats a bigint position as the current one and does not validate positions:
// the checks of what boros does (Node 24's behaviour) are skipped there.
const nodeMajor = Number(process.versions.node.split('.')[0])
export const node24Read = unless(
  notOnRing && nodeMajor < 24
    ? `${notOnRing}: boros/fs is node:fs/promises, and Node ${process.versions.node}'s FileHandle.read takes positions as Node 24 does not`
    : undefined,
  { serial: true }
)

/**
 * A scratch folder made before the calling file's tests and removed after them (hooks of
 * `test`): `dir()` is the folder, `tmp(name)` a fresh path in it, and `withFile(t, content, fn,
 * flags)` runs `fn(fh, nfh, path)` with a file of `content` opened by boros/fs and node:fs.
 */
export function scratch(test) {
  let dir
  let n = 0
  const tmp = (name = 'f') => path.join(dir, `${name}-${n++}`)

  test.before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-fs-'))
  })
  test.after.always(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  async function withFile(_t, content, fn, flags = 'r+') {
    const f = tmp()
    fs.writeFileSync(f, content)
    const fh = await bfs.open(f, flags)
    const nfh = await fsp.open(f, flags)
    try {
      await fn(fh, nfh, f)
    } finally {
      await fh.close()
      await nfh.close()
    }
  }

  return { dir: () => dir, tmp, withFile }
}
