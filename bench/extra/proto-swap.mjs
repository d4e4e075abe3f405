#!/usr/bin/env node
// What Express's `Object.setPrototypeOf(req, app.request)` / `(res, app.response)` costs on
// boros/http's request and response objects, next to node:http's own.
//
//   node bench/extra/proto-swap.mjs [--dist dist,/other/build/dist] [--n 200000] [--rounds 5]
//
// Per round and build: makes N request/response pairs with the real classes of that build
// (dist/http/incoming.js, outgoing.js; no engine behind them, nothing is sent), once as they
// are and once as Express 5 treats them (both prototypes swapped to an Express app's, then the
// properties Express and its router add: res.locals, req.next, baseUrl, originalUrl, params,
// route), and prints the difference per pair and the own property count of each object. On
// Node 24 the swap copies the map (~20-30 ns per own property); on Node 20 the swap is cached
// but each property added after it costs microseconds, growing with the own property count. Builds are run
// interleaved in one process, so two of them (a baseline built from another commit, and this
// one) can be compared on a loaded machine. Medians over the rounds.
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    n: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' }
  }
})
const N = Number(args.n)
const require = createRequire(import.meta.url)
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
const express = require(require.resolve('express', { paths: [REPO] }))
const app = express()

const raw = ['Host', '127.0.0.1:8080', 'User-Agent', 'wrk', 'Accept', '*/*']
const makers = {}
for (const d of args.dist.split(',')) {
  const dir = path.resolve(REPO, d)
  const { IncomingMessage } = require(path.join(dir, 'http/incoming.js'))
  const { ServerResponse } = require(path.join(dir, 'http/outgoing.js'))
  const { ConnSocket } = require(path.join(dir, 'http/conn-socket.js'))
  const sock = new ConnSocket(1, { peer() {}, destroy() {} }, null)
  const source = { pause() {}, resume() {} }
  // (req, ctx) in this build, (req, sink, onFinished) before: both take these.
  const ctx = { sink: {}, onFinished() {} }
  makers[d] = () => {
    const req = new IncomingMessage(sock, source, 1, 1, 'GET', '/', 1, raw, null, false, false)
    return [req, new ServerResponse(req, ctx, () => {})]
  }
  // What the server does for an Express app (app-classes.ts): objects made on the app's
  // prototypes from the start, so Express's own swap is a no-op. Builds without it: skipped.
  const inc = require(path.join(dir, 'http/incoming.js'))
  const out = require(path.join(dir, 'http/outgoing.js'))
  if (typeof inc.requestClassOn === 'function') {
    const Req = inc.requestClassOn(app.request)
    const Res = out.responseClassOn(app.response)
    makers[`${d} (app's prototypes)`] = () => {
      const req = new Req(sock, source, 1, 1, 'GET', '/', 1, raw, null, false, false)
      return [req, new Res(req, ctx)]
    }
  }
}
const nsock = new net.Socket()
makers['node:http'] = () => {
  const req = new http.IncomingMessage(nsock)
  return [req, new http.ServerResponse(req)]
}

function run(make, swap) {
  const keep = new Array(1024)
  const t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const [req, res] = make()
    if (swap) {
      // Express 5's app.handle, then what its router adds to a request it routes.
      req.res = res
      res.req = req
      Object.setPrototypeOf(req, app.request)
      Object.setPrototypeOf(res, app.response)
      res.locals = Object.create(null)
      req.next = run
      req.baseUrl = ''
      req.originalUrl = req.url
      req.params = {}
      req.route = app
    }
    keep[i & 1023] = res
  }
  return Number(process.hrtime.bigint() - t) / N
}

const median = (xs) => xs.toSorted((a, b) => a - b)[xs.length >> 1]
const swaps = Object.fromEntries(Object.keys(makers).map((k) => [k, []]))
for (let r = 0; r < Number(args.rounds); r++) {
  for (const [k, make] of Object.entries(makers)) swaps[k].push(run(make, true) - run(make, false))
}
console.log(`${process.version}, ${N} pairs x ${args.rounds} rounds (median)`)
for (const [k, make] of Object.entries(makers)) {
  const [req, res] = make()
  const own = (o) => Reflect.ownKeys(o).length
  console.log(
    `${k.padEnd(28)} Express's swap + adds, req+res ${median(swaps[k]).toFixed(0).padStart(6)} ns   own keys req ${own(req)}, res ${own(res)}`
  )
}
