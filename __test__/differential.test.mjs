// The differential suite: every scenario of fixtures/differential-scenarios.mjs runs against
// boros/fs and node:fs/promises, and the two records must be equal — contents, Stats fields,
// listings, and errors (name, message, code, errno, syscall, path, dest).
//
// It covers both backends: io_uring in this process, and the fallback (node:fs) in a child
// process with BOROS_BACKEND=fallback. When the suite runs as root, the EACCES scenario also
// runs in children as uid/gid 65534 (via setpriv), on both backends: root bypasses the
// permission checks that make EACCES.
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import * as fsp from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { bfs, makeShared, newBase, runScenario, runtime, scenarios } from './fixtures/differential-scenarios.mjs'
import { notOnRing, unless } from './helpers/skip.mjs'

// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) this process and every child that
// inherits its environment are on the fallback: the in-process scenarios check that backend, and
// the checks of the ring's own paths (BOROS_DISABLE_OPS, the divergences) are skipped.
const here = runtime().backend
const inProcess = here === 'io_uring' ? here : `${here} (this process)`

const fixture = fileURLToPath(new URL('./fixtures/differential-scenarios.mjs', import.meta.url))
const base = newBase()
let shared

function child(args, env, prefix = []) {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, fixture, ...args]
    const p = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env, BOROS_DIFF_BASE: base } })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', reject)
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

const isRoot = process.getuid() === 0
const canSetpriv = isRoot && spawnSync('setpriv', ['--version']).status === 0
const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
// uid 65534 must be able to load the fixture and the build: not so under a 0700 directory
// (for example a checkout inside `mktemp -d`).
const nobodyCanRead =
  canSetpriv &&
  spawnSync(asNobody[0], [
    ...asNobody.slice(1),
    process.execPath,
    '-e',
    `require('fs').accessSync(${JSON.stringify(fixture)})`
  ]).status === 0
const EACCES = 'EACCES as a non-root user'

// The node:fs paths boros takes where the kernel lacks an opcode (ftruncate before 6.9, ...).
const DISABLED = 'ftruncate,renameat,unlinkat,mkdirat,symlinkat,linkat'

let fallback
let gated
let nobody
test.before(async () => {
  shared = await makeShared(base)
  fallback = child([], { BOROS_BACKEND: 'fallback' })
  if (notOnRing === undefined) {
    gated = child([], { BOROS_DISABLE_OPS: DISABLED })
    gated.catch(() => undefined)
  }
  if (nobodyCanRead) {
    nobody = Promise.all([child([EACCES], {}, asNobody), child([EACCES], { BOROS_BACKEND: 'fallback' }, asNobody)])
  }
  // A rejected child is reported by the tests that await it.
  fallback.catch(() => undefined)
  nobody?.catch(() => undefined)
})

test.after.always(async () => {
  await fsp.rm(base, { recursive: true, force: true })
})

test.serial(`this process uses ${here}; the fallback child uses node:fs`, async (t) => {
  t.is(here, notOnRing === undefined ? 'io_uring' : 'fallback')
  t.is((await fallback).backend, 'fallback')
})

for (const name of Object.keys(scenarios)) {
  test.serial(`${inProcess}: ${name}`, async (t) => {
    const { boros, node } = await runScenario(name, `${base}/main`, shared)
    t.deepEqual(boros, node)
  })
  test(`fallback: ${name}`, async (t) => {
    const { results } = await fallback
    t.deepEqual(results[name].boros, results[name].node)
  })
  unless(notOnRing)(`io_uring without ${DISABLED}: ${name}`, async (t) => {
    const { backend, results } = await gated
    t.is(backend, 'io_uring')
    t.deepEqual(results[name].boros, results[name].node)
  })
}

const eaccesTitle = 'EACCES as uid 65534, both backends'
// Decided at load time: a check that cannot run here is reported as skipped, with the reason.
const eaccesSkip = !isRoot
  ? 'not root: the EACCES scenario ran in-process above as this user'
  : !canSetpriv
    ? 'running as root and setpriv(1) is not available to drop to another user'
    : !nobodyCanRead
      ? 'uid 65534 cannot read this checkout (a parent directory is not world-readable)'
      : undefined
unless(eaccesSkip)(eaccesTitle, async (t) => {
  const [ring, fb] = await nobody
  t.is(ring.uid, 65534)
  t.is(ring.backend, here)
  t.is(fb.backend, 'fallback')
  for (const r of [ring, fb]) {
    const { boros, node } = r.results[EACCES]
    t.deepEqual(boros, node, r.backend)
    // The scenario really produced permission errors, not something else.
    t.true(JSON.stringify(node).includes('"EACCES"'))
  }
})

// Two places where boros differs from node:fs/promises on purpose. They are kept out of the
// equality checks above and pinned here, so that a change on either side is noticed.

// Off the ring boros/fs is node:fs/promises: neither divergence exists there.
const divergence = unless(notOnRing && `${notOnRing}: boros/fs is node:fs/promises there`, { serial: true })

divergence(
  'divergence: FileHandle.read/write honour bigint positions (Node 20 treats them as "current position")',
  async (t) => {
    const f = `${base}/bigint`
    await fsp.mkdir(base, { recursive: true })
    await fsp.writeFile(f, '0123456789')
    const fh = await bfs.open(f, 'r+')
    try {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(3), 0, 3, 4n)
      t.is(buffer.subarray(0, bytesRead).toString(), '456')
      await fh.write(Buffer.from('X'), 0, 1, 9n)
      const nfh = await fsp.open(f, 'r')
      const theirs = await nfh.read(Buffer.alloc(3), 0, 3, 4n)
      await nfh.close()
      t.log(
        `node:fs/promises read at 4n gave ${JSON.stringify(theirs.buffer.subarray(0, theirs.bytesRead).toString())}`
      )
    } finally {
      await fh.close()
    }
    t.is(await fsp.readFile(f, 'utf8'), '012345678X')
  }
)

divergence('divergence: a read started after close() rejects with EBADF (Node runs it before closing)', async (t) => {
  const f = `${base}/late`
  await fsp.mkdir(base, { recursive: true })
  await fsp.writeFile(f, 'abc')
  const fh = await bfs.open(f)
  const inFlight = fh.read(Buffer.alloc(1), 0, 1, 0)
  const closing = fh.close()
  const late = await t.throwsAsync(fh.read(Buffer.alloc(1), 0, 1, 0))
  t.like(late, { code: 'EBADF', syscall: 'read', message: 'file closed' })
  t.is((await inFlight).bytesRead, 1)
  await closing
})

test('glob is node:fs/promises glob where Node has it, a clear error where it does not', async (t) => {
  const cwd = fileURLToPath(new URL('.', import.meta.url))
  if (typeof fsp.glob !== 'function') {
    const e = t.throws(() => bfs.glob('*.test.mjs', { cwd }))
    t.is(e.code, 'ERR_BOROS_UNSUPPORTED_RUNTIME')
    t.regex(e.message, new RegExp(`Node ${process.versions.node.replaceAll('.', '\\.')}`))
    return
  }
  const ours = []
  for await (const f of bfs.glob('*.test.mjs', { cwd })) ours.push(f)
  const theirs = []
  for await (const f of fsp.glob('*.test.mjs', { cwd })) theirs.push(f)
  t.true(ours.includes('differential.test.mjs'))
  t.deepEqual(ours.sort(), theirs.sort())
})

test('boros/fs has every node:fs/promises export, and runtime().paths names the path of each', (t) => {
  const paths = runtime().paths
  for (const [name, value] of Object.entries(fsp)) {
    if (name === 'default') continue
    t.true(name in bfs, `boros/fs lacks ${name}`)
    if (typeof value === 'function') t.is(typeof paths[name], 'string', `runtime().paths lacks ${name}`)
  }
  for (const m of [
    'read',
    'readv',
    'write',
    'writev',
    'stat',
    'truncate',
    'sync',
    'datasync',
    'chmod',
    'chown',
    'utimes'
  ]) {
    t.is(typeof bfs.FileHandle.prototype[m], 'function', m)
    t.regex(paths[`FileHandle.${m}`], /^(io_uring|node:fs)/, m)
  }
  // Off the ring every entry is node:fs/promises (the last test of this file).
  if (here === 'io_uring') {
    t.is(paths.rename, 'io_uring: renameat')
    t.is(paths.readdir, 'node:fs (no io_uring opcode)')
    t.regex(paths.truncate, runtime().ops.includes('ftruncate') ? /io_uring: openat \+ ftruncate/ : /node:fs ftruncate/)
  }
})

unless(notOnRing)('BOROS_DISABLE_OPS routes the calls to node:fs and says so in runtime().paths', (t) => {
  const out = spawnSync(
    process.execPath,
    ['-e', "console.log(JSON.stringify(require('./dist/index.js').runtime().paths))"],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, BOROS_DISABLE_OPS: DISABLED },
      encoding: 'utf8'
    }
  )
  const paths = JSON.parse(out.stdout)
  t.is(paths.truncate, 'io_uring: openat + node:fs ftruncate (io_uring ftruncate needs Linux 6.9) + close')
  t.is(paths['FileHandle.truncate'], 'node:fs ftruncate (io_uring ftruncate needs Linux 6.9)')
  t.is(paths.rename, 'node:fs (io_uring renameat needs Linux 5.11)')
  t.is(paths.link, 'node:fs (io_uring linkat needs Linux 5.15)')
  t.is(paths.open, 'io_uring: openat')
})

test('runtime().paths on the fallback backend: every entry is node:fs/promises', async (t) => {
  const { results } = await fallback
  t.truthy(results)
  const out = spawnSync(
    process.execPath,
    ['-e', "console.log(JSON.stringify(require('./dist/index.js').runtime().paths))"],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, BOROS_BACKEND: 'fallback' },
      encoding: 'utf8'
    }
  )
  const paths = JSON.parse(out.stdout)
  t.true(Object.keys(paths).length > 30)
  for (const [name, path] of Object.entries(paths)) t.is(path, 'node:fs/promises (fallback backend)', name)
})
