#!/usr/bin/env node
// What an accepted socket costs: server CPU per accept (to its 'connection' listener) and
// retained V8 heap per socket (issue 21, thirteenth round: the pass start at 1,000 connections
// makes 1,000 Sockets in one batch; the idle row holds 10,000). The server is held asleep while
// a client process opens N connections (no data), so the kernel's accept queue holds them all
// when it lets go and the accepts come as one batch, as in the echo bench. The connection
// listener only keeps the socket (an array push): what is measured is the accept, the socket's
// construction (for boros/net: the Duplex, its options, the Connection, arming the receive) and
// the 'connection' emit. Then, with every socket still held, `gc()` and the V8 heap in use;
// the server destroys them all, waits for every 'close', drops them, and reads the heap again:
// the difference is the heap per socket (what the burst compiled or grew for good is in both;
// node:net keeps part of its socket in C++, the TCPWrap and its uv_tcp_t, which this does not
// see: the README's idle row reads RSS). Next round in the same server.
//
//   node bench/extra/sock-cost.mjs [--server boros-net|node-net|boros-conn] [--conns 1000]
//        [--rounds 6] [--tree DIR] [--node-flag=--cpu-prof ...]
//
// Prints per round: µs of CPU per accept, the whole process (process.cpuUsage: V8's compiler
// threads too) and the main thread alone (/proc/thread-self/schedstat), the wall time, and B of
// heap per socket; RESULT: medians of the rounds after the first (round 0 is cold code).
// --tree: the checkout whose dist/ is loaded (default: this one), for an A/B of two builds.
// --conns over the listen backlog (4096) only for boros: its multishot accept takes connections
// off the kernel's queue while the server's JS is held; node:net's queue overflows and the
// client's connects time out.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import v8 from 'node:v8'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { holdUntil, lines, median, startPair } from './burst-lib.mjs'

const role = process.argv[2]

if (role === '--role-server') await server(JSON.parse(process.argv[3]))
else if (role === '--role-client') await client(JSON.parse(process.argv[3]))
else await main()

/** ns this thread has run (the kernel's schedstat). */
function threadNs() {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0])
}

function heapUsed() {
  globalThis.gc()
  globalThis.gc()
  return v8.getHeapStatistics().used_heap_size
}

async function server(spec) {
  if (typeof globalThis.gc !== 'function') throw new Error('the server needs --expose-gc')
  let socks = []
  let closes = 0
  let mark
  const onClose = () => {
    if (++closes !== spec.conns) return
    // The same heap without the sockets: what the burst compiled and grew stays in both.
    socks = []
    setImmediate(() => process.stdout.write(`CLOSEDALL ${heapUsed()}\n`))
  }
  const accepted = (s) => {
    socks.push(s)
    if (socks.length === spec.conns) {
      const cpu = process.cpuUsage(mark.cpu)
      const main = threadNs() - mark.thread
      const wall = Number(process.hrtime.bigint() - mark.t) / 1e6
      // Off the accept's path: the heap with every socket held.
      setImmediate(() => {
        const heap = heapUsed()
        process.stdout.write(
          `ACCEPTED ${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, mainMs: main / 1e6, wallMs: wall, heap })}\n`
        )
      })
    }
  }
  let srv
  let closeAll
  if (spec.server === 'boros-conn') {
    const { Listener } = await import(pathToFileURL(path.join(spec.tree, 'dist/net/listener.js')).href)
    const { Connection } = await import(pathToFileURL(path.join(spec.tree, 'dist/net/connection.js')).href)
    srv = new Listener({ host: '127.0.0.1', port: 0 }, 4096, {
      onConnection: (fd) => {
        const c = new Connection(fd, { onData: () => {}, onEnd: () => {}, onError: () => {} })
        c.resume()
        accepted(c)
      },
      onError: (e) => {
        throw e
      }
    })
    closeAll = () => {
      for (const c of socks) c.close(onClose)
    }
    process.stdout.write(`PORT ${srv.address().port}\n`)
  } else {
    const mod =
      spec.server === 'node-net' ? net : await import(pathToFileURL(path.join(spec.tree, 'dist/net/index.js')).href)
    srv = mod.createServer(accepted)
    closeAll = () => {
      for (const s of socks) {
        s.on('close', onClose)
        s.destroy()
      }
    }
    srv.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
      process.stdout.write(`PORT ${srv.address().port}\n`)
    )
  }
  lines(process.stdin, (line) => {
    const [cmd, flag] = line.split(' ')
    if (cmd === 'hold') {
      socks = []
      closes = 0
      globalThis.gc()
      process.stdout.write('HOLDING\n')
      holdUntil(flag)
      mark = { cpu: process.cpuUsage(), thread: threadNs(), t: process.hrtime.bigint() }
    } else if (cmd === 'close') closeAll()
    else if (cmd === 'exit') process.exit(0)
  })
}

async function client(spec) {
  let socks = []
  lines(process.stdin, (line) => {
    if (line !== 'connect') return
    let n = 0
    let closed = 0
    socks = []
    for (let i = 0; i < spec.conns; i++) {
      const s = net.connect({ port: spec.port, host: '127.0.0.1' }, () => {
        if (++n === spec.conns) process.stdout.write('CONNECTED\n')
      })
      s.on('error', (e) => {
        process.stderr.write(`client: ${e.message}\n`)
        process.exit(1)
      })
      s.on('data', () => {})
      s.on('close', () => {
        if (++closed === spec.conns) process.stdout.write('CLOSED\n')
      })
      socks.push(s)
    }
  })
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: 'boros-net' },
      conns: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '6' },
      tree: { type: 'string', default: path.resolve(new URL('../..', import.meta.url).pathname) },
      'node-flag': { type: 'string', multiple: true, default: [] }
    }
  })
  const conns = Number(args.conns)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sock-cost-'))
  const flag = path.join(tmp, 'go')
  const { srv, cli, wait } = await startPair(
    new URL(import.meta.url).pathname,
    ['--expose-gc', ...args['node-flag']],
    { server: args.server, conns, tree: args.tree },
    tmp
  )
  const rows = []
  const us = (ms) => (ms * 1000) / conns
  for (let r = 0; r < Number(args.rounds); r++) {
    srv.stdin.write(`hold ${flag}\n`)
    await wait(srv, /^HOLDING$/)
    cli.stdin.write('connect\n')
    await wait(cli, /^CONNECTED$/)
    fs.writeFileSync(flag, '')
    const acc = JSON.parse((await wait(srv, /^ACCEPTED /)).slice(9))
    srv.stdin.write('close\n')
    acc.heap -= Number((await wait(srv, /^CLOSEDALL /)).slice(10))
    await wait(cli, /^CLOSED$/)
    // Let the closes' loose ends settle.
    await new Promise((res) => setTimeout(res, 200))
    rows.push(acc)
    console.log(
      `round ${r}${r === 0 ? ' (cold)' : ''}: accept ${us(acc.cpuMs).toFixed(1)} us CPU/conn (main thread ${us(acc.mainMs).toFixed(1)}, wall ${acc.wallMs.toFixed(1)} ms), heap ${(acc.heap / conns).toFixed(0)} B/socket`
    )
  }
  const rest = rows.slice(1)
  console.log(
    `RESULT ${JSON.stringify({
      server: args.server,
      tree: args.tree,
      node: process.version,
      conns,
      coldUs: +us(rows[0].cpuMs).toFixed(1),
      coldMainUs: +us(rows[0].mainMs).toFixed(1),
      acceptUs: +us(median(rest.map((r) => r.cpuMs))).toFixed(1),
      mainUs: +us(median(rest.map((r) => r.mainMs))).toFixed(1),
      heapB: Math.round(median(rest.map((r) => r.heap)) / conns)
    })}`
  )
  srv.stdin.write('exit\n')
  cli.kill()
  fs.rmSync(tmp, { recursive: true, force: true })
}
