// What the interop tests run on: boros/net (its node:net-shaped Socket and Server; `impl.name`
// says whether it runs on the ring or on its node:net fallback, and the tests put it in their
// titles). Also: the addresses of the real servers .ci/run starts (scripts/services.sh), and a
// helper that serves an http.Server's connections from a boros server (DESIGN-NOTES §7).
//
// (Before boros/net landed these scenarios ran on a small Duplex over the low-level
// Connection, kept in this file's history: commit "interop tests: ioredis ...".)
import fs from 'node:fs'

const DIST = new URL('../../dist/', import.meta.url)

async function load() {
  const netUrl = new URL('net/index.js', DIST)
  if (!fs.existsSync(netUrl)) throw new Error('dist/net/index.js is missing: run npm run build')
  const bnet = await import(netUrl.href)
  return {
    name: bnet.backend === 'io_uring' ? 'boros/net' : `boros/net on its fallback (${bnet.backend})`,
    backend: bnet.backend,
    Socket: bnet.Socket,
    createConnection: (...a) => bnet.createConnection(...a),
    createServer: (...a) => bnet.createServer(...a)
  }
}

export const impl = await load()

/** Serves `httpServer` (http or https) on a boros server on 127.0.0.1:0. Returns { port, close() }. */
export async function serveOnBoros(httpServer) {
  const srv = impl.createServer((socket) => httpServer.emit('connection', socket))
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  return {
    port: srv.address().port,
    close: () => new Promise((resolve) => srv.close(() => resolve()))
  }
}

/** The real services .ci/run started: { redis: {host, port} | null, pg: url | null, why }. */
export const services = {
  redis: process.env.BOROS_TEST_REDIS
    ? { host: process.env.BOROS_TEST_REDIS.split(':')[0], port: Number(process.env.BOROS_TEST_REDIS.split(':')[1]) }
    : null,
  redisWhy:
    process.env.BOROS_TEST_REDIS_SKIP ??
    'BOROS_TEST_REDIS is not set: run the tests through .ci/run, or start the services with `eval "$(scripts/services.sh start /tmp/boros-services --install)"`',
  pg: process.env.BOROS_TEST_PG ?? null,
  pgWhy:
    process.env.BOROS_TEST_PG_SKIP ??
    'BOROS_TEST_PG is not set: run the tests through .ci/run, or start the services with `eval "$(scripts/services.sh start /tmp/boros-services --install)"`'
}
