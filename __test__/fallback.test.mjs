// The fallback backend: where io_uring is refused (here, for real, by a seccomp filter that
// makes io_uring_setup fail with EPERM), boros/fs keeps working on node:fs and says why.
import test from 'ava'
import { runCommand } from './helpers/child.mjs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const script = `
  const bfs = require('./dist/fs/index.js')
  const { runtime, ops } = require('./dist/index.js')
  const os = require('node:os'), path = require('node:path')
  ;(async () => {
    const p = path.join(os.tmpdir(), 'boros-fallback-' + process.pid + '.txt')
    await bfs.writeFile(p, 'hello fallback')
    const text = await bfs.readFile(p, 'utf8')
    const fh = await bfs.open(p)
    const { bytesRead } = await fh.read(Buffer.alloc(5), 0, 5, 0)
    await fh.close()
    // Streams of a handle: the fallback's handles are node:fs's, which Node takes as an fd option.
    let streamed = ''
    for await (const c of bfs.createReadStream(await bfs.open(p), 'utf8')) streamed += c
    const out = bfs.createWriteStream(await bfs.open(p, 'a'))
    await new Promise((resolve) => out.end('!', resolve))
    const st = await bfs.stat(p)
    await require('node:fs/promises').unlink(p)
    let opsError
    try { ops.nop() } catch (e) { opsError = e.code }
    const err = await bfs.readFile('/nonexistent/x').catch((e) => e)
    console.log(JSON.stringify({ text, streamed, bytesRead, size: st.size, rt: runtime(), opsError, enoent: [err.code, err.syscall, err.path] }))
  })()
`

const run = (argv, env = {}) => runCommand(argv, { env, cwd: root })

test('io_uring refused by seccomp (EPERM): boros/fs works on node:fs and says why, once', async (t) => {
  // Its own environment: the refusal must come from seccomp, not from an inherited BOROS_BACKEND.
  const { code, stdout, stderr } = await run([`${root}/scripts/no-io-uring`, process.execPath, '-e', script], {
    BOROS_BACKEND: undefined
  })
  t.is(code, 0, stderr)
  const r = JSON.parse(stdout)
  t.is(r.text, 'hello fallback')
  t.is(r.bytesRead, 5)
  t.is(r.streamed, 'hello fallback')
  t.is(r.size, 15)
  t.is(r.rt.backend, 'fallback')
  t.regex(r.rt.fallbackReason, /seccomp/)
  t.regex(r.rt.fallbackReason, /Operation not permitted/)
  t.is(r.opsError, 'ERR_BOROS_IO_URING_UNAVAILABLE')
  t.deepEqual(r.enoent, ['ENOENT', 'open', '/nonexistent/x'])
  t.is(stderr.match(/BOROS_FALLBACK/g)?.length, 1, 'one warning')
})

test('BOROS_BACKEND=fallback forces node:fs without a warning', async (t) => {
  const { code, stdout, stderr } = await run([process.execPath, '-e', script], { BOROS_BACKEND: 'fallback' })
  t.is(code, 0, stderr)
  const r = JSON.parse(stdout)
  t.is(r.text, 'hello fallback')
  t.is(r.streamed, 'hello fallback')
  t.is(r.rt.backend, 'fallback')
  t.regex(r.rt.fallbackReason, /BOROS_BACKEND=fallback/)
  t.notRegex(stderr, /BOROS_FALLBACK/)
})

test('io_uring refused by seccomp: boros/net is node:net, and its sockets work', async (t) => {
  const netScript = `
    const net = require('./dist/net/index.js')
    const nodeNet = require('node:net')
    const server = net.createServer((s) => s.pipe(s))
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect(server.address().port, '127.0.0.1', () => c.end('over node:net'))
      let got = ''
      c.on('data', (d) => (got += d))
      c.on('close', () => {
        server.close()
        console.log(JSON.stringify({ backend: net.backend, same: net.Socket === nodeNet.Socket, got }))
      })
    })
  `
  const { code, stdout, stderr } = await run([`${root}/scripts/no-io-uring`, process.execPath, '-e', netScript], {
    BOROS_BACKEND: undefined
  })
  t.is(code, 0, stderr)
  t.deepEqual(JSON.parse(stdout), { backend: 'node:net', same: true, got: 'over node:net' })
  t.is(stderr.match(/BOROS_FALLBACK/g)?.length, 1, 'one warning')
  t.regex(stderr, /node:net/)
})
