#!/usr/bin/env node
// CPU per accepted and per closed connection, in a burst (issue 21: the 1,000 accepts at the
// start of the echo bench's measured pass). The server (the echo bench's server: a 'data'
// listener that writes back, an 'error' listener) is held in a busy loop while a client
// process opens N connections, so the kernel's accept queue holds all of them when it lets
// go: the accepts then arrive as one batch, as they do in the bench. The server's CPU
// (process.cpuUsage, every thread) from then until its Nth 'connection' is the accept burst;
// the same for the client destroying all N and the server's Nth 'close'. Several rounds in one
// server; the first is the warm-up.
//
//   node bench/extra/accept-burst.mjs [--server boros-net|node-net|boros-conn] [--conns 1000]
//        [--rounds 6] [--tree DIR] [--node-flag=--cpu-prof ...]
//
// --tree: the checkout whose dist/ is loaded (default: this one), for an A/B of two builds.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { holdUntil, lines, median, startPair } from './burst-lib.mjs'

const role = process.argv[2]

if (role === '--role-server') await server(JSON.parse(process.argv[3]))
else if (role === '--role-client') await client(JSON.parse(process.argv[3]))
else await main()

async function server(spec) {
  let mod = net
  if (spec.server !== 'node-net') mod = await import(pathToFileURL(path.join(spec.tree, 'dist/net/index.js')).href)
  let conns = 0
  let closes = 0
  let firsts = 0
  const onFirst = () => {
    if (++firsts === spec.conns) report('FIRST')
  }
  let mark
  // --profile ROUND: a CPU profile of that round's accept burst (to the last first echo) and
  // of its close burst, written to the current directory (the inspector's own profiler).
  let session
  let holds = 0
  let phase = -1
  const profiling = () => spec.profile !== undefined && phase >> 1 === spec.profile
  const startProfile = () => {
    if (!profiling()) return
    session.post('Profiler.enable')
    session.post('Profiler.setSamplingInterval', { interval: 50 })
    session.post('Profiler.start')
  }
  const stopProfile = (what) => {
    if (!profiling()) return
    session.post('Profiler.stop', (err, { profile }) => {
      if (err) throw err
      const file = path.join(spec.out, `burst-${what.toLowerCase()}.cpuprofile`)
      fs.writeFileSync(file, JSON.stringify(profile))
    })
  }
  if (spec.profile !== undefined) {
    const inspector = await import('node:inspector')
    session = new inspector.Session()
    session.connect()
  }
  const report = (what) => {
    const cpu = process.cpuUsage(mark.cpu)
    const wall = Number(process.hrtime.bigint() - mark.t) / 1e6
    if (what !== 'ACCEPTED') stopProfile(what)
    process.stdout.write(`${what} ${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: wall })}\n`)
  }
  const onClose = () => {
    if (++closes === spec.conns) report('CLOSED')
  }
  let srv
  if (spec.server === 'boros-conn') {
    const { Listener } = await import(pathToFileURL(path.join(spec.tree, 'dist/net/listener.js')).href)
    const { Connection } = await import(pathToFileURL(path.join(spec.tree, 'dist/net/connection.js')).href)
    srv = new Listener({ host: '127.0.0.1', port: 0 }, 4096, {
      onConnection: (fd) => {
        let first = true
        const c = new Connection(fd, {
          onData: (d) => {
            c.write(d)
            if (first) {
              first = false
              onFirst()
            }
          },
          onEnd: () => c.close(onClose),
          onError: () => c.close(onClose)
        })
        c.resume()
        if (++conns === spec.conns) report('ACCEPTED')
      },
      onError: (e) => {
        throw e
      }
    })
    process.stdout.write(`PORT ${srv.address().port}\n`)
  } else {
    srv = mod.createServer({ noDelay: true }, (s) => {
      s.on('data', (d) => s.write(d))
      s.once('data', onFirst)
      s.on('error', () => s.destroy())
      s.on('close', onClose)
      if (++conns === spec.conns) report('ACCEPTED')
    })
    srv.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
      process.stdout.write(`PORT ${srv.address().port}\n`)
    )
  }
  lines(process.stdin, (line) => {
    const [cmd, flag] = line.split(' ')
    if (cmd === 'hold') {
      conns = 0
      closes = 0
      firsts = 0
      process.stdout.write('HOLDING\n')
      holdUntil(flag)
      phase = holds++
      startProfile()
      mark = { cpu: process.cpuUsage(), t: process.hrtime.bigint() }
    } else if (cmd === 'exit') process.exit(0)
  })
}

const MESSAGE = Buffer.alloc(64, 'x')

async function client(spec) {
  let socks = []
  lines(process.stdin, (line) => {
    if (line === 'connect') {
      let n = 0
      socks = []
      for (let i = 0; i < spec.conns; i++) {
        const s = net.connect({ port: spec.port, host: '127.0.0.1' }, () => {
          if (++n === spec.conns) process.stdout.write('CONNECTED\n')
        })
        s.on('error', (e) => {
          process.stderr.write(`client: ${e.message}\n`)
          process.exit(1)
        })
        // One message each, queued in the kernel while the server is held: the burst ends
        // with the server's first echo on every connection.
        s.write(MESSAGE)
        s.on('data', () => {})
        socks.push(s)
      }
    } else if (line === 'close') {
      // Every FIN sent (the kernel queues them; the server is held and cannot read them yet).
      let n = 0
      for (const s of socks) {
        s.on('close', () => {
          if (++n === socks.length) process.stdout.write('CLOSED\n')
        })
        s.on('end', () => {})
        s.end()
      }
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
      'node-flag': { type: 'string', multiple: true, default: [] },
      profile: { type: 'string' }
    }
  })
  const conns = Number(args.conns)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'accept-burst-'))
  const flag = path.join(tmp, 'go')
  const { srv, cli, wait } = await startPair(
    new URL(import.meta.url).pathname,
    args['node-flag'],
    {
      server: args.server,
      conns,
      tree: args.tree,
      profile: args.profile === undefined ? undefined : Number(args.profile),
      out: process.cwd()
    },
    tmp
  )
  const rows = []
  for (let r = 0; r < Number(args.rounds); r++) {
    srv.stdin.write(`hold ${flag}\n`)
    await wait(srv, /^HOLDING$/)
    cli.stdin.write('connect\n')
    await wait(cli, /^CONNECTED$/)
    fs.writeFileSync(flag, '')
    const acc = JSON.parse((await wait(srv, /^ACCEPTED /)).slice(9))
    const first = JSON.parse((await wait(srv, /^FIRST /)).slice(6))
    // Let the burst's loose ends (first reads armed, timers) settle before the closes.
    await new Promise((r) => setTimeout(r, 200))
    srv.stdin.write(`hold ${flag}\n`)
    await wait(srv, /^HOLDING$/)
    cli.stdin.write('close\n')
    // The client's sockets close once the server answers its FIN: not while it is held. Give
    // the kernel a moment to queue every FIN, then let go.
    await new Promise((r) => setTimeout(r, 300))
    fs.writeFileSync(flag, '')
    const clo = JSON.parse((await wait(srv, /^CLOSED /)).slice(7))
    await wait(cli, /^CLOSED$/)
    rows.push({ acc, first, clo })
    const us = (ms) => ((ms * 1000) / conns).toFixed(1)
    console.log(
      `round ${r}${r === 0 ? ' (warm-up)' : ''}: accept ${us(acc.cpuMs)} us CPU/conn (wall ${acc.wallMs.toFixed(1)} ms), to first data ${us(first.cpuMs)} (wall ${first.wallMs.toFixed(1)} ms), close ${us(clo.cpuMs)} us CPU/conn (wall ${clo.wallMs.toFixed(1)} ms)`
    )
  }
  const rest = rows.slice(1)
  console.log(
    `RESULT ${JSON.stringify({
      server: args.server,
      tree: args.tree,
      node: process.version,
      conns,
      acceptUs: +((median(rest.map((r) => r.acc.cpuMs)) * 1000) / conns).toFixed(1),
      firstUs: +((median(rest.map((r) => r.first.cpuMs)) * 1000) / conns).toFixed(1),
      closeUs: +((median(rest.map((r) => r.clo.cpuMs)) * 1000) / conns).toFixed(1)
    })}`
  )
  srv.stdin.write('exit\n')
  cli.kill()
  fs.rmSync(tmp, { recursive: true, force: true })
}
