// What the registered-buffer suites (buffers.test.mjs, buffers-direct.test.mjs) share: a scratch
// folder (removed after the calling file's tests), patterned files in it, and child processes.
import test from 'ava'
import { runCommand } from './child.mjs'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { has, notOnRing, unless } from './skip.mjs'

// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) a pool is plain memory and reads go
// through node:fs: the data checks run on both backends, the ring's counts and registrations on
// the ring only. Child processes inherit this process's backend.
export const onRing = notOnRing === undefined

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-buffers-'))
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

export function pattern(n, seed = 1) {
  const b = Buffer.allocUnsafe(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

export function file(name, data) {
  const p = path.join(dir, name)
  fs.writeFileSync(p, data)
  return p
}

export const run = (argv, env = {}) => runCommand(argv, { env, cwd: root })

export const withPrlimit = unless(has('prlimit') ? undefined : 'prlimit (util-linux) is not installed')
