// The thread's shared receive group (crates/boros/src/bufring.rs, "Growing and shrinking";
// docs/net.md "Where received bytes live"): it starts with 64 buffers of 16 KiB, stays there
// under light use, and grows when many connections' data arrives at once, without losing or
// reordering a byte. Serial: both tests read this process's one ring.
import test from 'ava'
import { runtime, stats } from '../dist/index.js'
import * as bnet from '../dist/net/index.js'

const HOST = '127.0.0.1'
const INITIAL = 64
// The touch budget (recv_group.rs RECV_TOUCH_BUDGET, 4 MiB) in full 16 KiB buffers: the most a
// burst of full receives grows the group to (1,024 without the budget).
const MOST = 256
const uring = runtime().backend === 'io_uring'
// Off the ring (fallback backend) there are no ring ops to count: skipped, saying why.
const serial = uring
  ? test.serial
  : (title, fn) => test.serial.skip(`${title} — skipped: this process is on the ${runtime().backend} backend`, fn)

function echoServer() {
  const server = bnet.createServer((s) => s.pipe(s))
  return new Promise((resolve) => server.listen(0, HOST, () => resolve(server)))
}

/** Connection `c`'s bytes: a pattern that differs per connection, so a mix-up shows. */
function payload(c, len) {
  const b = Buffer.allocUnsafe(len)
  for (let i = 0; i < len; i++) b[i] = (i * 31 + c * 7 + (i >> 10)) & 255
  return b
}

/** Each of `conns` clients sends its payload at once and reads it back; resolves with the mismatches. */
async function echoAll(port, conns, len) {
  const clients = await Promise.all(
    Array.from(
      { length: conns },
      () =>
        new Promise((resolve, reject) => {
          const s = bnet.connect(port, HOST, () => resolve(s))
          s.once('error', reject)
        })
    )
  )
  const results = await Promise.all(
    clients.map(
      (s, c) =>
        new Promise((resolve, reject) => {
          const want = payload(c, len)
          const got = []
          s.on('data', (d) => got.push(d))
          s.once('end', () => resolve(Buffer.concat(got).equals(want) ? null : c))
          s.once('error', reject)
          s.end(want)
        })
    )
  )
  return results.filter((c) => c !== null)
}

serial('light use: the shared receive group keeps its first 64 buffers', async (t) => {
  const server = await echoServer()
  const { port } = server.address()
  // One connection, one small message at a time.
  const s = await new Promise((resolve) => {
    const c = bnet.connect(port, HOST, () => resolve(c))
  })
  for (let i = 0; i < 200; i++) {
    const msg = payload(i, 100 + (i % 50))
    const back = await new Promise((resolve) => {
      const got = []
      let n = 0
      const on = (d) => {
        got.push(d)
        n += d.length
        if (n >= msg.length) {
          s.off('data', on)
          resolve(Buffer.concat(got))
        }
      }
      s.on('data', on)
      s.write(msg)
    })
    t.true(back.equals(msg))
  }
  s.destroy()
  await new Promise((resolve) => server.close(resolve))
  const st = stats()
  t.is(st.recvBuffers, INITIAL, 'buffers in circulation')
  t.is(st.recvBuffersMost, INITIAL)
  t.is(st.recvBufferGrows, 0)
  t.is(st.recvStarved, 0)
})

serial('many connections sending at once: the group grows, and every byte arrives intact', async (t) => {
  const server = await echoServer()
  const { port } = server.address()
  // 300 connections x 64 KiB at once: ~4.7 MiB arrives in the first rounds, far more than 64
  // buffers of 16 KiB hold, and more than the touch budget lets them grow to: the rest waits in
  // the sockets.
  const bad = await echoAll(port, 300, 64 * 1024)
  await new Promise((resolve) => server.close(resolve))
  t.deepEqual(bad, [], 'connections whose echo differs from what they sent')
  const st = stats()
  t.true(st.recvStarved > 0, 'receives found the group empty (else nothing was tested)')
  t.true(st.recvBufferGrows >= 1, `grows: ${st.recvBufferGrows}`)
  t.true(st.recvBuffersMost > INITIAL && st.recvBuffersMost <= MOST, `most: ${st.recvBuffersMost}`)
})

serial('after the burst, light use gives the buffers back: the group drops to its first 64', async (t) => {
  // Runs after the burst above: the group grew past 64. One connection, one small message at a
  // time: no pass uses more than a quarter of the buffers, so after four turns of the ring the
  // group aims back at 64, and the buffers past it are parked (pages given back) as the kernel
  // hands them out. A count of round trips, not a time: at most 12,000.
  const grown = stats()
  t.true(grown.recvBuffers > INITIAL, `the group did not grow: ${grown.recvBuffers}`)
  const server = await echoServer()
  const { port } = server.address()
  const s = await new Promise((resolve) => {
    const c = bnet.connect(port, HOST, () => resolve(c))
  })
  const msg = payload(1, 100)
  let trips = 0
  while (stats().recvBuffers > INITIAL && trips < 12_000) {
    await new Promise((resolve) => {
      let n = 0
      const on = (d) => {
        n += d.length
        if (n >= msg.length) {
          s.off('data', on)
          resolve()
        }
      }
      s.on('data', on)
      s.write(msg)
    })
    trips++
  }
  s.destroy()
  await new Promise((resolve) => server.close(resolve))
  const st = stats()
  t.log(`${trips} round trips, from ${grown.recvBuffers} buffers`)
  t.true(st.recvBufferShrinks >= 1, `shrinks: ${st.recvBufferShrinks}`)
  t.is(st.recvBuffers, INITIAL, `buffers in circulation after ${trips} round trips`)
  t.is(st.recvBuffersMost, grown.recvBuffersMost)
})
