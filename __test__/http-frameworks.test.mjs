// Real frameworks on boros/http's createServer(): Express 5 (hello-world; a small app with
// routes, params, query, express.json() bodies, status codes, an error handler) and Fastify 5
// through its serverFactory (hello-world, JSON route, POST body, hooks). Each app runs on
// node:http and on boros/http, and the answers (status, headers minus Date, body) must match.
// On the fallback backend createServer() is node:http's own: the runs below then compare
// node:http with itself, which the titles say.
import test from 'ava'
import express from 'express'
import Fastify from 'fastify'
import http from 'node:http'
import { backend, createServer } from 'boros/http'
import { viaFetch, viaHttpRequest } from './helpers/http-diff.mjs'

const on = backend === 'io_uring' ? 'boros/http' : `boros/http on its fallback (${backend})`

function expressApp() {
  const app = express()
  app.get('/', (req, res) => res.send('Hello World!'))
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id, q: req.query.q ?? null, ip: typeof req.ip }))
  app.post('/items', express.json(), (req, res) =>
    res.status(201).json({ got: req.body, type: req.get('content-type') })
  )
  app.get('/redirect', (req, res) => res.redirect('/users/7'))
  app.get('/headers', (req, res) => {
    res.set('X-Custom', 'yes').type('text/plain')
    res.append('Set-Cookie', 'a=1')
    res.append('Set-Cookie', 'b=2')
    res.send(`proto ${req.protocol} host ${req.hostname} secure ${req.secure}`)
  })
  app.get('/boom', () => {
    throw new Error('boom')
  })
  // A mounted app: Express swaps req/res to the sub-app's prototypes (a real swap on boros/http,
  // whose objects start on the outer app's), and back after it.
  const sub = express()
  sub.get('/info', (req, res) => {
    res
      .status(202)
      .set('X-Sub', req.baseUrl)
      .json({ url: req.url, originalUrl: req.originalUrl, sent: res.headersSent })
  })
  app.use('/sub', sub)
  app.use((err, req, res, _next) => res.status(500).json({ error: err.message }))
  return app
}

/** Listens `server` on 127.0.0.1:0; returns its port. */
async function listen(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return server.address().port
}

async function close(server) {
  server.closeAllConnections?.()
  await new Promise((resolve) => server.close(() => resolve()))
}

const EXPRESS_CASES = [
  ['GET /', (p) => viaFetch(p, '/')],
  ['GET /users/42?q=x', (p) => viaFetch(p, '/users/42?q=x')],
  [
    'POST /items (express.json())',
    (p) =>
      viaFetch(p, '/items', {
        method: 'POST',
        body: JSON.stringify({ name: 'thing', n: [1, 2, 3] }),
        headers: { 'content-type': 'application/json' }
      })
  ],
  [
    'POST /items with bad JSON (400 from body-parser)',
    (p) => viaFetch(p, '/items', { method: 'POST', body: '{bad', headers: { 'content-type': 'application/json' } })
  ],
  ['GET /redirect', (p) => viaFetch(p, '/redirect', { redirect: 'manual' })],
  ['GET /headers', (p) => viaFetch(p, '/headers')],
  ['GET /boom (error handler)', (p) => viaFetch(p, '/boom')],
  ['GET /sub/info (a mounted app)', (p) => viaFetch(p, '/sub/info?z=1')],
  ['GET /missing (404 from finalhandler)', (p) => viaFetch(p, '/missing')],
  ['HEAD /', (p) => viaFetch(p, '/', { method: 'HEAD' })],
  [
    'keep-alive: five requests on one socket',
    (p) =>
      viaHttpRequest(p, [
        { path: '/' },
        { path: '/users/1' },
        {
          method: 'POST',
          path: '/items',
          body: '{"a":1}',
          headers: { 'content-type': 'application/json', 'content-length': '7' }
        },
        { path: '/missing' },
        { path: '/' }
      ])
  ]
]

for (const [name, client] of EXPRESS_CASES) {
  test.serial(`Express 5 on ${on}: ${name} answers as on node:http`, async (t) => {
    const app = expressApp()
    const out = []
    // boros/http twice: with the app as the only 'request' listener (requests made on the app's
    // prototypes, app-classes.ts) and with another listener besides (its own classes, swapped).
    for (const [make, more] of [
      [http.createServer, false],
      [createServer, false],
      [createServer, true]
    ]) {
      const server = make(app)
      if (more) server.on('request', () => {})
      const port = await listen(server)
      try {
        out.push(await client(port))
      } finally {
        await close(server)
      }
    }
    t.deepEqual(out[1], out[0])
    t.deepEqual(out[2], out[0])
  })
}

test.serial(`Express 5 on ${on}: req and res keep working after Express swaps their prototypes`, async (t) => {
  const app = express()
  const seen = {}
  app.get('/', (req, res) => {
    seen.reqIsIncoming = req instanceof http.IncomingMessage
    seen.resIsResponse = res instanceof http.ServerResponse
    seen.protoIsApp = Object.getPrototypeOf(req) === app.request
    seen.socket = typeof req.socket.remoteAddress
    res.setHeader('x-before', '1')
    seen.headersSentBefore = res.headersSent
    res.send('ok')
    seen.headersSentAfter = res.headersSent
    seen.ended = res.writableEnded
  })
  const server = createServer(app)
  const port = await listen(server)
  const r = await viaFetch(port, '/')
  await close(server)
  t.is(r.body, 'ok')
  t.deepEqual(seen, {
    reqIsIncoming: true,
    resIsResponse: true,
    protoIsApp: true,
    socket: 'string',
    headersSentBefore: false,
    headersSentAfter: true,
    ended: true
  })
})

// The fields node's req/res have as own values read the same under Express on both servers
// (boros/http makes an Express app's req/res on its prototypes, where none of boros' own
// prototype defaults are: each must be given as node gives it).
test.serial(`Express 5 on ${on}: req/res fields read as on node:http under Express`, async (t) => {
  const fields = async (factory) => {
    const app = express()
    let seen
    app.get('/', (req, res) => {
      seen = {
        aborted: req.aborted,
        upgrade: req.upgrade,
        reqStatusCode: req.statusCode,
        reqStatusMessage: req.statusMessage,
        complete: req.complete,
        httpVersion: req.httpVersion,
        outputData: Array.isArray(res.outputData) && res.outputData.length,
        statusCode: res.statusCode,
        statusMessage: res.statusMessage,
        sendDate: res.sendDate,
        finished: res.finished,
        writableEnded: res.writableEnded,
        headersSent: res.headersSent
      }
      res.send('ok')
    })
    const server = factory(app)
    const port = await listen(server)
    await viaFetch(port, '/')
    await close(server)
    return seen
  }
  const node = await fields(http.createServer)
  const ours = await fields(createServer)
  t.is(node.aborted, false)
  t.deepEqual(ours, node)
})

/** A Fastify app whose server `factory` makes (node:http's or boros/http's createServer). */
function fastifyApp(factory) {
  const app = Fastify({ serverFactory: (handler) => factory((req, res) => handler(req, res)) })
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-on-request', req.method)
  })
  app.addHook('preSerialization', async (req, reply, payload) =>
    payload && typeof payload === 'object' ? { ...payload, serialized: true } : payload
  )
  app.get('/', async () => 'hello world')
  app.get('/json/:id', async (req) => ({ id: req.params.id, q: req.query.q ?? null }))
  app.post('/echo', async (req, reply) => {
    reply.code(201)
    return { body: req.body }
  })
  app.get('/fail', async () => {
    throw Object.assign(new Error('nope'), { statusCode: 418 })
  })
  return app
}

const FASTIFY_CASES = [
  ['GET /', (p) => viaFetch(p, '/')],
  ['GET /json/5?q=z', (p) => viaFetch(p, '/json/5?q=z')],
  [
    'POST /echo (JSON body)',
    (p) =>
      viaFetch(p, '/echo', { method: 'POST', body: '{"x":[1,2]}', headers: { 'content-type': 'application/json' } })
  ],
  ['GET /fail (error with statusCode)', (p) => viaFetch(p, '/fail')],
  ['GET /missing (404)', (p) => viaFetch(p, '/missing')]
]

for (const [name, client] of FASTIFY_CASES) {
  test.serial(`Fastify 5 (serverFactory) on ${on}: ${name} answers as on node:http`, async (t) => {
    const out = []
    // Both through serverFactory (Fastify leaves a factory's server with its own defaults:
    // keepAliveTimeout, requestTimeout), node:http's createServer then boros/http's.
    for (const factory of [http.createServer, createServer]) {
      const app = fastifyApp(factory)
      await app.listen({ port: 0, host: '127.0.0.1' })
      try {
        out.push(await client(app.server.address().port))
      } finally {
        await app.close()
      }
    }
    t.deepEqual(out[1], out[0])
  })
}
