// Runtime facts and batching, against the real kernel ring of this process.
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runtime, stats, ops, Future } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) there is no ring to report or
// count, and `ops` throws ERR_BOROS_IO_URING_UNAVAILABLE: those checks are the ring's; the
// counters' shape and the reads' data are checked on both backends.
const onRing = notOnRing === undefined
const ringOnly = unless(notOnRing, { serial: true })

let dir
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-runtime-'))
})
test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

ringOnly('runtime() reports an io_uring ring with the flags boros needs', (t) => {
  const info = runtime()
  t.is(info.backend, 'io_uring')
  t.is(info.fallbackReason, undefined)
  t.is(info.kernel, os.release())
  t.true(Array.isArray(info.setupFlags))
  // COOP_TASKRUN: a DEFER_TASKRUN ring's eventfd fires ~14 ms late on some kernels while libuv
  // sleeps (issue 24 item 10; runtime.rs task_run_mode); BOROS_TASKRUN=defer brings it back.
  const mode = process.env.BOROS_TASKRUN === 'defer' ? 'DEFER_TASKRUN' : 'COOP_TASKRUN'
  t.true(info.setupFlags.includes(mode), `setupFlags: ${info.setupFlags}`)
  t.true(info.setupFlags.includes('TASKRUN_FLAG'), `setupFlags: ${info.setupFlags}`)
  t.true(info.setupFlags.includes('SINGLE_ISSUER'), `setupFlags: ${info.setupFlags}`)
  t.false(info.setupFlags.includes('SQPOLL'))
  t.false(
    info.setupFlags.some((f) => f.startsWith('IORING_')),
    'flags are given without the prefix'
  )
  t.true(Number.isInteger(info.sqEntries) && info.sqEntries > 0)
  t.true(Number.isInteger(info.cqEntries))
  t.true(info.cqEntries >= 2 * info.sqEntries, `cq ${info.cqEntries} sq ${info.sqEntries}`)
  for (const op of ['read', 'openat', 'statx']) t.true(info.ops.includes(op), `ops lacks ${op}`)
})

test.serial('runtime() is stable across calls', (t) => {
  const a = runtime()
  const b = runtime()
  t.deepEqual(a, b)
})

test.serial('stats() has numeric counters and advances with an op', async (t) => {
  const s0 = stats()
  t.deepEqual(Object.keys(s0).sort(), [
    'batches',
    'enterCalls',
    'httpZeroCopyCopied',
    'httpZeroCopySends',
    'inFlight',
    'listeners',
    'opsCompleted',
    'opsSubmitted',
    'readinessReads',
    'recvBufferGrows',
    'recvBufferShrinks',
    'recvBuffers',
    'recvBuffersMost',
    'recvStarved',
    'sockets'
  ])
  for (const [k, v] of Object.entries(s0)) t.true(Number.isInteger(v) && v >= 0, `${k} = ${v}`)
  if (!onRing) {
    t.throws(() => ops.nop(), { code: 'ERR_BOROS_IO_URING_UNAVAILABLE' })
    t.deepEqual(stats(), s0, 'nothing counts off the ring')
    return
  }
  const f = ops.nop()
  t.true(f instanceof Future)
  t.is(stats().inFlight, s0.inFlight + 1, 'a queued op counts as in flight before submission')
  await f
  const s1 = stats()
  t.true(s1.opsSubmitted >= s0.opsSubmitted + 1)
  t.true(s1.opsCompleted >= s0.opsCompleted + 1)
  t.true(s1.enterCalls >= s0.enterCalls + 1)
  t.true(s1.batches >= s0.batches + 1)
  t.is(s1.inFlight, 0)
})

test.serial('10,000 reads started in one tick are submitted in a few dozen io_uring_enter calls', async (t) => {
  const file = path.join(dir, 'small')
  const content = Buffer.from('0123456789abcdefXYZ') // 19 bytes; reads take the first 16
  fs.writeFileSync(file, content)
  const fh = await bfs.open(file, 'r')
  try {
    const N = 10_000
    const bufs = Array.from({ length: N }, () => Buffer.alloc(16, 0xee))
    const before = stats()
    const reads = bufs.map((b) => fh.read(b, 0, 16, 0))
    const results = await Promise.all(reads)
    const after = stats()
    const enters = after.enterCalls - before.enterCalls
    t.log(`enterCalls delta ${enters}, batches delta ${after.batches - before.batches}`)
    if (onRing) {
      t.true(enters <= 40, `enterCalls delta ${enters}`)
      t.true(enters >= 1)
      t.true(after.opsCompleted - before.opsCompleted >= N)
      t.true(after.opsSubmitted - before.opsSubmitted >= N)
    } else {
      t.deepEqual(after, before, 'node:fs reads: the ring counts nothing')
    }
    t.is(after.inFlight, 0)
    const expected = content.subarray(0, 16)
    let bad = 0
    for (let i = 0; i < N; i++) {
      if (results[i].bytesRead !== 16 || results[i].buffer !== bufs[i] || !bufs[i].equals(expected)) bad++
    }
    t.is(bad, 0, `${bad} reads returned wrong data`)
  } finally {
    await fh.close()
  }
})

ringOnly('ops.read / ops.write / ops.open / ops.close / ops.fsync on raw descriptors', async (t) => {
  const file = path.join(dir, 'raw')
  const fd = await ops.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600)
  t.true(Number.isInteger(fd) && fd > 2)
  t.is(await ops.write(fd, Buffer.from('hello world'), 0, 11, 0), 11)
  await ops.fsync(fd)
  await ops.fsync(fd, true)
  const buf = Buffer.alloc(5)
  t.is(await ops.read(fd, buf, 0, 5, 6), 5)
  t.is(buf.toString(), 'world')
  t.is(await ops.read(fd, Buffer.alloc(4), 0, 4, 100), 0, 'EOF reads 0')
  await ops.close(fd)
  const err = await t.throwsAsync(ops.read(fd, Buffer.alloc(1), 0, 1, 0).toPromise())
  t.is(err.code, 'EBADF')
  t.is(err.syscall, 'read')
  t.is(fs.statSync(file).mode & 0o777, 0o600)
})

ringOnly('ops.open of a missing file rejects like fs.promises.open', async (t) => {
  const missing = path.join(dir, 'nope', 'missing')
  const ours = await t.throwsAsync(ops.open(missing, fs.constants.O_RDONLY).toPromise())
  const theirs = await t.throwsAsync(fs.promises.open(missing, 'r'))
  for (const k of ['code', 'errno', 'syscall', 'path', 'message']) t.is(ours[k], theirs[k], k)
})

// What libuv sleeps on (lifecycle.rs `task_run_mode`): the ring fd itself under COOP_TASKRUN
// (readable while CQEs wait: no eventfd to read after each wake-up), the registered eventfd
// under BOROS_TASKRUN=defer (that ring's fd is never woken by socket work). Read from /proc:
// the descriptors in the loop's epoll set (fdinfo `tfd:` lines) after a read went through;
// boros's ring is the io_uring descriptor that was not there before (libuv has its own).
const WATCHED = `
import fs from 'node:fs'
const kind = (fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) } catch { return '' } }
const fds = () => fs.readdirSync('/proc/self/fd').map(Number)
const rings = () => fds().filter((fd) => kind(fd) === 'anon_inode:[io_uring]')
const before = new Set(rings())
const bfs = await import(${JSON.stringify(new URL('../dist/fs/index.js', import.meta.url).href)})
await bfs.stat(process.execPath)
const watched = new Set()
for (const fd of fds().filter((fd) => kind(fd) === 'anon_inode:[eventpoll]'))
  for (const m of fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8').matchAll(/^tfd:\\s+(\\d+)/gm)) watched.add(Number(m[1]))
const ours = rings().filter((fd) => !before.has(fd))
console.log(JSON.stringify({ ours, watched: [...watched], ringWatched: ours.some((fd) => watched.has(fd)) }))
`
ringOnly('libuv sleeps on the ring fd under COOP_TASKRUN, on the eventfd under BOROS_TASKRUN=defer', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const run = (taskRun) => {
    const env = { ...process.env, BOROS_TASKRUN: taskRun }
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', WATCHED], { env, encoding: 'utf8' })
    t.is(r.status, 0, r.stderr)
    return JSON.parse(r.stdout)
  }
  const coop = run('')
  t.is(coop.ours.length, 1, JSON.stringify(coop))
  t.true(coop.ringWatched, `COOP: the ring fd is in libuv's epoll set: ${JSON.stringify(coop)}`)
  const defer = run('defer')
  t.is(defer.ours.length, 1, JSON.stringify(defer))
  t.false(defer.ringWatched, `defer: the eventfd is watched, not the ring fd: ${JSON.stringify(defer)}`)
})
