// What a boros/net Socket queues per message at one busy connection (docs/net.md, "One
// connection"): an echo (a 'data' handler writing the chunk back) queues no nextTick, where
// Readable and Writable would queue two (a "read more" after the push, an afterWrite after a
// write the kernel took at once), so the turn's tick queue stays empty. The peer is the
// low-level Connection, which queues no ticks of its own.
import test from 'ava'
import { runtime } from '../dist/index.js'
import * as bnet from '../dist/net/index.js'
import { Connection } from '../dist/net/connection.js'
import { connectFd } from '../dist/net/connect-fd.js'

const HOST = '127.0.0.1'
const serial =
  runtime().backend === 'io_uring'
    ? test.serial
    : (title, fn) => test.serial.skip(`${title} — skipped: this process is on the ${runtime().backend} backend`, fn)

/** Echoes `rounds` messages of `size` bytes one at a time; resolves with the ticks queued meanwhile. */
async function pingPong(handler, rounds, size) {
  let server
  const accepted = new Promise((resolve) => {
    server = bnet.createServer({ noDelay: true }, resolve)
  })
  await new Promise((resolve) => server.listen(0, HOST, resolve))
  const fd = await connectFd({ host: HOST, port: server.address().port, family: 4 })
  const s = await accepted
  s.on('data', handler(s))
  const msg = Buffer.alloc(size, 7)
  const ticks = []
  const nextTick = process.nextTick
  let done
  const finished = new Promise((resolve) => (done = resolve))
  let got = 0
  let sent = 0
  const c = new Connection(fd, {
    onData(d) {
      got += d.length
      if (got < sent * size) return
      if (sent === rounds) {
        process.nextTick = nextTick
        done()
      } else {
        sent++
        c.write(msg)
      }
    }
  })
  c.resume()
  process.nextTick = function (fn, ...args) {
    ticks.push(fn.name)
    return nextTick.call(this, fn, ...args)
  }
  sent++
  c.write(msg)
  await finished
  c.close()
  s.destroy()
  await new Promise((resolve) => server.close(resolve))
  return { ticks, bytesWritten: s.bytesWritten }
}

serial('an echo at one busy connection queues no nextTick per message', async (t) => {
  const { ticks, bytesWritten } = await pingPong((s) => (d) => s.write(d), 200, 64)
  t.is(bytesWritten, 200 * 64)
  // A few may come from elsewhere (the connection's start); none per message.
  t.true(ticks.length < 10, `${ticks.length} ticks: ${[...new Set(ticks)].join(', ')}`)
})

serial('a write with a callback still calls it in a later tick, after write() returned', async (t) => {
  let sync = 0
  let calls = 0
  const { ticks } = await pingPong(
    (s) => (d) => {
      let returned = false
      s.write(d, () => {
        calls++
        if (!returned) sync++
      })
      returned = true
    },
    50,
    64
  )
  t.is(calls, 50)
  t.is(sync, 0)
  t.true(ticks.filter((n) => n === 'afterWriteTick').length >= 50, 'Writable runs it in its afterWrite tick')
})
