// Behaviours Node's own fs/promises tests found where boros differed (conformance/FINDINGS.md),
// each checked side by side against node:fs/promises on the running Node.
import test from 'ava'
import fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as bfs from '../dist/fs/index.js'
import { unless } from './helpers/skip.mjs'

const major = Number(process.versions.node.split('.')[0])
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-node-semantics-'))
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(content = 'hello world\n') {
  const p = path.join(dir, `f${n++}`)
  fs.writeFileSync(p, content)
  return p
}

/** Runs `fn` with node:fs/promises and with boros/fs; returns both outcomes, errors as { code, message, name }. */
async function both(fn) {
  const run = async (m) => {
    try {
      return { ok: await fn(m) }
    } catch (e) {
      return { err: { code: e.code, name: e.name, message: e.message } }
    }
  }
  return [await run(fsp), await run(bfs)]
}

for (const direct of [false, true]) {
  const opts = (flags) => (direct ? { flags, direct: true } : flags)
  const label = direct ? 'direct handle' : 'handle'

  test(`${label}: a read into an empty buffer rejects as Node does; length 0 resolves first`, async (t) => {
    const p = file()
    const [node, boros] = await both(async (m) => {
      const fh = await m.open(p, m === fsp ? 'r' : opts('r'))
      try {
        const zero = await fh.read(Buffer.alloc(0), 0, 0, 0)
        await fh.read(Buffer.alloc(0), 0, 1, 0)
        return zero.bytesRead
      } finally {
        await fh.close()
      }
    })
    t.deepEqual(boros, node)
    t.is(node.err.code, 'ERR_INVALID_ARG_VALUE')
  })

  test(`${label}: write of odd-length hex text rejects as Node does, writing nothing`, async (t) => {
    const [p1, p2] = [file(), file()]
    const [node, boros] = await both(async (m) => {
      const fh = await m.open(m === fsp ? p1 : p2, m === fsp ? 'r+' : opts('r+'))
      try {
        return (await fh.write('abc', 0, 'hex')).bytesWritten
      } finally {
        await fh.close()
      }
    })
    t.deepEqual(boros, node)
    t.deepEqual(fs.readFileSync(p2), fs.readFileSync(p1))
  })
}

// Node 26 throws ERR_INVALID_STATE (uncaught) for a FileHandle collected without close(); 20-24 warn.
const GC_THROWS = Number(process.versions.node.split('.')[0]) >= 26

test('writeFile: a flush that is not a boolean rejects before the file is touched', async (t) => {
  for (const flush of ['true', 1, {}, [], 0]) {
    const [p1, p2] = [file('keep'), file('keep')]
    const [node, boros] = await both((m) => m.writeFile(m === fsp ? p1 : p2, 'new', { flush }))
    t.deepEqual(boros, node, `flush: ${JSON.stringify(flush)}`)
    t.is(fs.readFileSync(p2, 'utf8'), 'keep')
  }
  for (const flush of [undefined, null, false, true]) {
    const p = file('x')
    await bfs.writeFile(p, 'new', { flush })
    t.is(fs.readFileSync(p, 'utf8'), 'new')
  }
})

test('a signal whose listener methods throw: the op still settles, nothing escapes', async (t) => {
  const p = file('abcdef')
  const ac = new AbortController()
  const signal = new Proxy(ac.signal, {
    get(target, key) {
      if (key === 'addEventListener' || key === 'removeEventListener') {
        return () => {
          throw new TypeError('no listeners here')
        }
      }
      const v = Reflect.get(target, key, target)
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
  const fh = await bfs.open(p)
  try {
    const { bytesRead } = await fh.read({ buffer: Buffer.alloc(6), position: 0, signal })
    t.is(bytesRead, 6)
    t.is((await fh.readFile({ signal })).length, 6) // a positional read leaves the file position at 0
  } finally {
    await fh.close()
  }
})

test('readFile: an abort after the call started rejects with AbortError, as Node', async (t) => {
  const p = file(Buffer.alloc(4 << 20, 1))
  const [node, boros] = await both(async (m) => {
    const ac = new AbortController()
    const pending = m.readFile(p, { signal: ac.signal })
    ac.abort()
    return (await pending).length
  })
  t.deepEqual(boros, node)
  t.is(node.err?.name, 'AbortError')
})

unless(major < 22 ? 'Node 20 does not validate bigint positions this way; checked on Node 22+' : undefined)(
  'bigint positions (Node 24 semantics): past 2^53 reads answer as the kernel does; past 2^63 - 1 - length is out of range',
  async (t) => {
    const p = file('0123456789')
    const [node, boros] = await both(async (m) => {
      const fh = await m.open(p)
      const out = []
      try {
        for (const pos of [2n ** 53n + 2n, 2n ** 62n, 2n ** 63n - 5n, 2n ** 63n - 4n, 2n ** 63n]) {
          try {
            out.push((await fh.read(Buffer.alloc(4), 0, 4, pos)).bytesRead)
          } catch (e) {
            out.push(e.code)
          }
        }
      } finally {
        await fh.close()
      }
      return out
    })
    t.deepEqual(boros, node)
  }
)

test("a handle collected without close() is closed, with Node's warnings", async (t) => {
  const { execFileSync } = await import('node:child_process')
  const target = file()
  const script = `
    const { open } = await import(${JSON.stringify(new URL('../dist/fs/index.js', import.meta.url).href)})
    const fs = await import('node:fs')
    const warnings = []
    process.on('warning', (w) => warnings.push(w.name + ':' + (w.code ?? '') + ':' + w.message.slice(0, 40)))
    // Node 26 throws instead of warning: ERR_INVALID_STATE, naming the descriptor and the file.
    process.on('uncaughtException', (e) => warnings.push('uncaught:' + e.code + ':' + e.message.includes(${JSON.stringify(target)})))
    const openOnTarget = () =>
      fs.readdirSync('/proc/self/fd').filter((f) => {
        try { return fs.readlinkSync('/proc/self/fd/' + f) === ${JSON.stringify(target)} } catch { return false }
      }).length
    await (async () => { await open(${JSON.stringify(target)}) })()
    const during = openOnTarget()
    for (let i = 0; i < 20 && warnings.length < (GC_THROWS ? 1 : 2); i++) {
      globalThis.gc()
      await new Promise((r) => setTimeout(r, 20))
    }
    await new Promise((r) => setTimeout(r, 50))
    console.log(JSON.stringify({ warnings, during, after: openOnTarget() }))
  `
  const out = JSON.parse(
    execFileSync(process.execPath, [
      '--expose-gc',
      '--input-type=module',
      '-e',
      script.replace('GC_THROWS', String(GC_THROWS))
    ]).toString()
  )
  if (GC_THROWS) {
    t.deepEqual(out.warnings, ['uncaught:ERR_INVALID_STATE:true'])
  } else {
    t.true(
      out.warnings.some((w) => w.startsWith('Warning::Closing file descriptor')),
      JSON.stringify(out)
    )
    t.true(
      out.warnings.some((w) => w.startsWith('DeprecationWarning:DEP0137')),
      JSON.stringify(out)
    )
  }
  t.is(out.during, 1, 'the handle had the file open')
  t.is(out.after, 0, 'and it was closed when the handle was collected')
})

test('three handles collected without close(): one warning each, DEP0137 once per process, as Node (issue 24)', async (t) => {
  const { execFileSync } = await import('node:child_process')
  const target = file()
  const count = (mod) => {
    const script = `
      const { open } = await import(${JSON.stringify('__MOD__')})
      const warnings = []
      process.on('warning', (w) => warnings.push(w.code ?? w.name))
      process.on('uncaughtException', (e) => warnings.push('uncaught:' + e.code))
      await (async () => { for (let i = 0; i < 3; i++) await open(${JSON.stringify(target)}) })()
      for (let i = 0; i < 40; i++) {
        globalThis.gc()
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise((r) => setTimeout(r, 50))
      console.log(JSON.stringify(warnings.sort()))
    `.replace('__MOD__', mod)
    return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script]).toString())
  }
  const node = count('node:fs/promises')
  const boros = count(new URL('../dist/fs/index.js', import.meta.url).href)
  t.deepEqual(
    node,
    GC_THROWS ? Array(3).fill('uncaught:ERR_INVALID_STATE') : ['DEP0137', 'Warning', 'Warning', 'Warning']
  )
  t.deepEqual(boros, node)
})

test("FileHandle methods called on something else reject as Node's do (ERR_INTERNAL_ASSERTION)", async (t) => {
  const p = file()
  const methods = [
    'stat',
    'read',
    'write',
    'sync',
    'datasync',
    'readv',
    'writev',
    'truncate',
    'chmod',
    'chown',
    'utimes',
    'readFile',
    'writeFile',
    'appendFile',
    'close'
  ]
  const [node, boros] = await both(async (m) => {
    const h = await m.open(p)
    const out = {}
    try {
      for (const name of methods) {
        let p2
        try {
          p2 = h[name].call({})
        } catch (e) {
          out[name] = `threw synchronously: ${e.code}`
          continue
        }
        try {
          await p2
          out[name] = 'resolved'
        } catch (e) {
          out[name] = `${e.code}: ${e.message.split('\n')[0]}`
        }
      }
    } finally {
      await h.close()
    }
    return out
  })
  t.deepEqual(boros, node)
})
