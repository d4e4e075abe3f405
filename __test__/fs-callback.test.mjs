// boros/fs/callback against node:fs: every scenario of fixtures/fs-callback-scenarios.mjs runs
// against both and the records must be equal (callback arguments, errors with code, errno,
// syscall, path, dest and message, synchronous argument errors, callback never synchronous).
// Both backends: io_uring in this process, the fallback (node:fs) in a child with
// BOROS_BACKEND=fallback. Then what makes it worth having: the common calls go to the ring
// (ring op counters move) without a promise per op, and the opt-in drop-in mode swaps them.
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createHook } from 'node:async_hooks'
import { fileURLToPath } from 'node:url'
import { bcb, newBase, runScenario, runtime, scenarios } from './fixtures/fs-callback-scenarios.mjs'
import { stats } from '../dist/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/fs-callback-scenarios.mjs', import.meta.url))
const root = fileURLToPath(new URL('..', import.meta.url))
const base = newBase()

// The tests that count ring ops need this process on io_uring; run with BOROS_BACKEND=fallback
// (or where io_uring is unavailable) they are skipped, saying why (the fallback is covered by the
// child below either way).
const ringSerial = unless(notOnRing, { serial: true })
const ringTest = unless(notOnRing)

function child(env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}: ${err}`))))
  })
}

let fallback
test.before(() => {
  fallback = child({ BOROS_BACKEND: 'fallback' })
  fallback.catch(() => undefined)
})
test.after.always(() => fs.rmSync(base, { recursive: true, force: true }))

ringSerial('this process uses io_uring; the fallback child uses node:fs', async (t) => {
  t.is(runtime().backend, 'io_uring')
  t.is((await fallback).backend, 'fallback')
})

for (const name of Object.keys(scenarios)) {
  test.serial(`io_uring: ${name}`, async (t) => {
    const { boros, node } = await runScenario(name, base)
    t.deepEqual(boros, node)
  })
  test(`fallback: ${name}`, async (t) => {
    const { boros, node } = (await fallback).results[name]
    t.deepEqual(boros, node)
  })
}

ringSerial('the common calls go through the ring, not node:fs', async (t) => {
  const dir = fs.mkdtempSync(`${base}/ring-`)
  fs.writeFileSync(`${dir}/a`, Buffer.alloc(256 * 1024, 3))
  const step = (fn, ...args) => new Promise((res, rej) => fn(...args, (e, ...v) => (e ? rej(e) : res(v))))
  const count = async (what, fn) => {
    const before = stats().opsSubmitted
    const out = await fn()
    t.true(stats().opsSubmitted > before, `${what} went through the ring`)
    return out
  }
  const [fd] = await count('open', () => step(bcb.open, `${dir}/a`, 'r+'))
  await count('read (queued)', () => step(bcb.read, fd, Buffer.alloc(4096), 0, 4096, 0))
  await count('read (native, 128 KiB)', () => step(bcb.read, fd, Buffer.alloc(131072), 0, 131072, 0))
  await count('read (options form)', () => step(bcb.read, fd, { buffer: Buffer.alloc(64), position: 1 }))
  await count('write', () => step(bcb.write, fd, Buffer.from('x'), 0, 1, 0))
  await count('write string', () => step(bcb.write, fd, 'y', 1))
  await count('readv', () => step(bcb.readv, fd, [Buffer.alloc(4), Buffer.alloc(4)], 0))
  await count('writev', () => step(bcb.writev, fd, [Buffer.from('a'), Buffer.from('b')], 0))
  await count('fstat', () => step(bcb.fstat, fd))
  await count('fsync', () => step(bcb.fsync, fd))
  await count('fdatasync', () => step(bcb.fdatasync, fd))
  await count('stat', () => step(bcb.stat, `${dir}/a`))
  await count('lstat', () => step(bcb.lstat, `${dir}/a`))
  await count('readFile', () => step(bcb.readFile, `${dir}/a`))
  await count('writeFile', () => step(bcb.writeFile, `${dir}/b`, 'data'))
  await count('appendFile', () => step(bcb.appendFile, `${dir}/b`, 'more'))
  await count('mkdir', () => step(bcb.mkdir, `${dir}/m`))
  await count('mkdir recursive', () => step(bcb.mkdir, `${dir}/m/n/o`, { recursive: true }))
  await count('rename', () => step(bcb.rename, `${dir}/b`, `${dir}/c`))
  await count('unlink', () => step(bcb.unlink, `${dir}/c`))
  await count('close', () => step(bcb.close, fd))
  t.is(fs.readFileSync(`${dir}/a`).subarray(0, 2).toString(), 'ab')
})

test.serial('a read, write, stat, open or close on the ring makes no promise', async (t) => {
  const dir = fs.mkdtempSync(`${base}/promises-`)
  fs.writeFileSync(`${dir}/a`, Buffer.alloc(256 * 1024, 3))
  const fd = fs.openSync(`${dir}/a`, 'r+')
  // Warm up: the ring is set up and routes are learned outside the measured window.
  await new Promise((r) => bcb.read(fd, Buffer.alloc(8), 0, 8, 0, r))
  let promises = 0
  const stacks = []
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') {
        promises++
        stacks.push(new Error('promise').stack)
      }
    }
  })
  const buf = Buffer.alloc(131072)
  let fd2 = -1
  const steps = [
    (k) => bcb.read(fd, buf, 0, 4096, 0, k),
    (k) => bcb.read(fd, buf, 0, 131072, 0, k),
    (k) => bcb.write(fd, buf, 0, 16, 0, k),
    (k) => bcb.stat(`${dir}/a`, k),
    (k) => bcb.fstat(fd, k),
    (k) =>
      bcb.open(`${dir}/a`, 'r', (err, n) => {
        fd2 = n
        k(err)
      }),
    (k) => bcb.close(fd2, k)
  ]
  // Every promise of the test itself is made before the hook is on.
  let resolve
  let reject
  const finished = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  const checked = finished.then(() => {
    fs.closeSync(fd)
    t.is(promises, 0, stacks.join('\n'))
  })
  let i = 0
  const next = (err) => {
    if (err) {
      hook.disable()
      return reject(err)
    }
    if (i === steps.length) {
      hook.disable()
      return resolve()
    }
    steps[i++](next)
  }
  // Started in a later turn: the test function's own promise plumbing is done by then.
  setImmediate(() => {
    hook.enable()
    next(null)
  })
  return checked
})

test.serial('many reads in flight on one descriptor: the right bytes land in the right buffers', async (t) => {
  const dir = fs.mkdtempSync(`${base}/inflight-`)
  const data = Buffer.alloc(4 * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i)
  fs.writeFileSync(`${dir}/a`, data)
  const fd = fs.openSync(`${dir}/a`, 'r')
  // More reads than arena slots: the rest take the native path.
  const n = 600
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const len = i % 3 === 0 ? 65536 : 4096
      const pos = ((i * 7919) % 1000) * 4096
      const buf = Buffer.alloc(len)
      return new Promise((res) =>
        bcb.read(fd, buf, 0, len, pos, (err, got, b) =>
          res({ err, got, ok: b === buf && b.equals(data.subarray(pos, pos + len)) })
        )
      )
    })
  )
  fs.closeSync(fd)
  t.true(results.every((r) => r.err === null && r.ok && r.got > 0))
})

test('boros/fs/callback has every name of node:fs; the rest are node:fs own functions', (t) => {
  for (const name of Object.keys(fs)) {
    if (name === '_toUnixTimestamp') continue
    t.true(name in bcb, name)
    if (!bcb.ringFunctions.includes(name) && name !== 'promises') t.is(bcb[name], fs[name], name)
  }
  t.is(bcb.read.length, fs.read.length)
})

test('util.promisify(read) resolves { bytesRead, buffer } as it does for node:fs', async (t) => {
  const { promisify } = await import('node:util')
  const fd = fs.openSync(fileURLToPath(import.meta.url), 'r')
  const r = await promisify(bcb.read)(fd, Buffer.alloc(4), 0, 4, 0)
  fs.closeSync(fd)
  t.is(r.bytesRead, 4)
  t.is(r.buffer.toString(), '// b')
})

ringTest('boros/register swaps the callback API by default; BOROS_REGISTER_FS_CALLBACKS=0 opts out', (t) => {
  const script = `
    import fs, { read } from 'node:fs'
    import { createRequire } from 'node:module'
    const { registerState } = createRequire(import.meta.url)('./dist/register.js')
    const { stats } = await import('boros')
    const s0 = stats().opsSubmitted
    const fd = fs.openSync(${JSON.stringify(fixture)})
    read(fd, Buffer.alloc(10), 0, 10, 0, (e, n) => {
      const chunks = []
      fs.createReadStream(${JSON.stringify(fixture)}).on('data', (c) => chunks.push(c)).on('end', () => {
        console.log(JSON.stringify({ n, callbacks: registerState().callbacks, ring: stats().opsSubmitted - s0,
          same: Buffer.concat(chunks).equals(fs.readFileSync(${JSON.stringify(fixture)})) }))
      })
    })`
  const run = (env) => {
    const r = spawnSync(process.execPath, ['--import', 'boros/register', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ...env }
    })
    if (r.status !== 0) throw new Error(r.stderr)
    return JSON.parse(r.stdout)
  }
  for (const env of [{}, { BOROS_REGISTER_FS_CALLBACKS: '1' }]) {
    const on = run(env)
    t.deepEqual(on.callbacks, [...bcb.ringFunctions])
    t.true(on.ring >= 3, "fs.read and Node's own read stream went through the ring")
    t.true(on.same)
  }
  const off = run({ BOROS_REGISTER_FS_CALLBACKS: '0' })
  t.deepEqual(off.callbacks, [])
  t.is(off.ring, 0)
})

test.serial(
  'Stats equal node:fs own, field for field, dates and own keys included (boros/fs and callbacks)',
  async (t) => {
    const { stat } = await import('../dist/fs/index.js')
    const file = fileURLToPath(import.meta.url)
    const node = fs.statSync(file)
    // Before any Date field is read (reading one makes it an own property on Node 22+).
    const nodeKeys = Object.keys(node)
    const viaCb = await new Promise((res, rej) => bcb.stat(file, (e, s) => (e ? rej(e) : res(s))))
    const viaFd = await new Promise((res, rej) => {
      const fd = fs.openSync(file)
      bcb.fstat(fd, (e, s) => (fs.closeSync(fd), e ? rej(e) : res(s)))
    })
    const viaPromise = await stat(file)
    for (const st of [viaCb, viaFd, viaPromise]) {
      t.true(st instanceof fs.Stats)
      // The same own keys (Node 22+ makes the Date fields lazily, on first read).
      t.deepEqual(Object.keys(st), nodeKeys)
      for (const k of [
        'dev',
        'ino',
        'mode',
        'nlink',
        'uid',
        'gid',
        'rdev',
        'size',
        'blksize',
        'blocks',
        'mtimeMs',
        'ctimeMs',
        'birthtimeMs'
      ]) {
        t.is(st[k], node[k], k)
      }
      for (const k of ['mtime', 'ctime', 'birthtime']) t.is(st[k].getTime(), node[k].getTime(), k)
      t.true(st.atime instanceof Date)
      t.true(st.isFile())
    }
  }
)

test.serial('reads into alignedBuffer memory (in place, no bounce) land the right bytes, both APIs', async (t) => {
  const { alignedBuffer, open } = await import('../dist/fs/index.js')
  const dir = fs.mkdtempSync(`${base}/owned-`)
  const data = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i)
  fs.writeFileSync(`${dir}/a`, data)
  const fd = fs.openSync(`${dir}/a`, 'r')
  const fh = await open(`${dir}/a`)
  for (const [off, len, pos] of [
    [0, 131072, 0],
    [100, 70000, 4099],
    [0, 512 * 1024, 500000],
    [4096, 65537, 1024 * 1024 - 65537]
  ]) {
    const a = alignedBuffer(len + off)
    const n = await new Promise((res, rej) => bcb.read(fd, a, off, len, pos, (e, got) => (e ? rej(e) : res(got))))
    t.is(n, len)
    t.true(a.subarray(off, off + len).equals(data.subarray(pos, pos + len)), `callback ${off} ${len} ${pos}`)
    const b = alignedBuffer(len + off)
    const r = await fh.read(b.subarray(off), 0, len, pos)
    t.is(r.bytesRead, len)
    t.true(b.subarray(off, off + len).equals(data.subarray(pos, pos + len)), `promise ${off} ${len} ${pos}`)
  }
  // Past the end: a short read, the rest of the buffer untouched.
  const c = alignedBuffer(200000)
  const n = await new Promise((res, rej) =>
    bcb.read(fd, c, 0, 200000, data.length - 1000, (e, got) => (e ? rej(e) : res(got)))
  )
  t.is(n, 1000)
  t.true(c.subarray(1000).every((x) => x === 0))
  await fh.close()
  fs.closeSync(fd)
})
