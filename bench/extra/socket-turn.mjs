#!/usr/bin/env node
// What boros/net's `Socket` costs over the callback `Connection` per echo turn at one
// connection (docs/net.md, "One connection: the Socket layer"), measured without the noise of
// a loaded machine's scheduler: one process, no sleeping, a ping-pong of `--size` byte messages
// between a `Connection` client and the server under test, one message in flight. The CPU per
// message is the client's and the server's together (and the kernel's loopback work), so only
// the differences between the servers mean anything. Run it pinned to one core:
//
//   taskset -c 1 node bench/extra/socket-turn.mjs [--size 64] [--messages 20000] [--rounds 7]
//
// servers: `Connection` (onData: chunk => conn.write(chunk)); `Socket` (s.on('data', d =>
// s.write(d))); `Socket, before`: the same Socket with Readable's read-more and Writable's write
// path as they were before this round (readingMore cleared, Duplex.prototype.write); `node:net`
// (node:net's own server, the same handler), for the figure to beat. `--kinds` picks some.
import * as nodeNet from 'node:net'
import { Duplex } from 'node:stream'
import { parseArgs } from 'node:util'

const DIST = new URL('../../dist/', import.meta.url)
const bnet = await import(new URL('net/index.js', DIST).href)
const { Connection } = await import(new URL('net/connection.js', DIST).href)
const { connectFd } = await import(new URL('net/connect-fd.js', DIST).href)
const { Listener } = await import(new URL('net/listener.js', DIST).href)
const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
    kinds: { type: 'string', default: 'Connection,Socket,Socket, before,node:net' }
  }
})
const HOST = '127.0.0.1'
const WARM = 200

/** A listening server of `kind`: its port, its accepted connection, and how to close it. */
async function server(kind) {
  if (kind === 'Connection') {
    let accepted
    const conn = new Promise((resolve) => (accepted = resolve))
    const l = new Listener({ host: HOST, port: 0 }, 16, {
      onConnection(fd) {
        const c = new Connection(fd, { onData: (d) => c.write(d) })
        c.resume()
        accepted(c)
      }
    })
    return { port: l.address().port, conn, close: () => new Promise((r) => l.close(r)) }
  }
  let srv
  const net = kind === 'node:net' ? nodeNet : bnet
  const conn = new Promise((resolve) => {
    srv = net.createServer({ noDelay: true }, (s) => {
      if (kind === 'Socket, before') {
        s._readableState.readingMore = false
        s.write = Duplex.prototype.write
      }
      s.on('data', (d) => s.write(d))
      resolve(s)
    })
  })
  await new Promise((resolve) => srv.listen(0, HOST, resolve))
  return { port: srv.address().port, conn, close: () => new Promise((r) => srv.close(r)) }
}

/** One ping-pong of `n` messages; CPU µs per message after the warm-up. */
async function run(kind, n, size) {
  const srv = await server(kind)
  const fd = await connectFd({ host: HOST, port: srv.port, family: 4 })
  const peer = await srv.conn
  const msg = Buffer.alloc(size, 7)
  let got = 0
  let sent = 0
  let cpu0
  let done
  const finished = new Promise((resolve) => (done = resolve))
  const c = new Connection(fd, {
    onData(d) {
      got += d.length
      if (got < sent * size) return
      if (sent === WARM) cpu0 = process.cpuUsage()
      if (sent === n) done()
      else {
        sent++
        c.write(msg)
      }
    }
  })
  c.resume()
  sent++
  c.write(msg)
  await finished
  const cpu = process.cpuUsage(cpu0)
  c.close()
  if (typeof peer.destroy === 'function') peer.destroy()
  else peer.close()
  await srv.close()
  return (cpu.user + cpu.system) / (n - WARM)
}

const kinds = args.kinds.split(/,(?! )/)
const results = Object.fromEntries(kinds.map((k) => [k, []]))
for (let r = 0; r < Number(args.rounds); r++) {
  for (const k of r % 2 ? [...kinds].reverse() : kinds)
    results[k].push(await run(k, Number(args.messages), Number(args.size)))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const base = median(results.Connection)
console.log(`${args.size} B ping-pong, ${args.messages} messages x ${args.rounds} rounds, Node ${process.version}`)
for (const k of kinds) {
  const m = median(results[k])
  console.log(`${k.padEnd(16)} ${m.toFixed(2)} µs/message (client + server)  ${(m - base).toFixed(2)} over Connection`)
}
