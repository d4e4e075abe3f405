// What the interop tests run on: boros/net (its node:net-shaped Socket and Server) when it is
// built, else a small Duplex over the low-level API (src-ts/net/connection.ts) kept here only
// so the interop scenarios could be written before boros/net landed. `impl.name` says which
// one ran; the tests put it in their titles.
//
// Also: the addresses of the real servers .ci/run starts (scripts/services.sh), and a helper
// that serves an http.Server's connections from a boros server (DESIGN-NOTES §7).
import fs from 'node:fs'
import { Duplex } from 'node:stream'

const DIST = new URL('../../dist/', import.meta.url)

async function load() {
  const netUrl = new URL('net/index.js', DIST)
  if (fs.existsSync(netUrl)) {
    const bnet = await import(netUrl.href)
    if (typeof bnet.Socket === 'function' && typeof bnet.createServer === 'function') {
      return {
        name: 'boros/net',
        Socket: bnet.Socket,
        createConnection: (...a) => bnet.createConnection(...a),
        createServer: (...a) => bnet.createServer(...a)
      }
    }
  }
  const ll = await import(new URL('net/connection.js', DIST).href)
  return adapter(ll)
}

/** A minimal node:net-shaped Duplex over the low-level Connection (interim, see above). */
function adapter({ Connection, Listener, connectFd }) {
  class TestSocket extends Duplex {
    #conn = null
    #ready
    #ok
    #timer = null
    #timeoutMs = 0
    constructor(opts = {}) {
      super({ allowHalfOpen: opts.allowHalfOpen ?? false })
      this.connecting = false
      this.remoteAddress = undefined
      this.remotePort = undefined
      this.#ready = new Promise((resolve) => (this.#ok = resolve))
      if (opts.fd != null) this.#attach(opts.fd)
    }
    #attach(fd) {
      this.#conn = new Connection(fd, {
        onData: (chunk) => {
          this.#touch()
          // No pause() here: Connection.pause() then resume() before the cancel's completion
          // arrives reports that ECANCELED as a read error (reported to the net owner). The
          // interim adapter buffers instead; boros/net's Socket does the real backpressure.
          this.push(chunk)
        },
        onEnd: () => this.push(null),
        onError: (err) => this.destroy(err)
      })
      this.connecting = false
      this.#ok(true)
    }
    connect(...args) {
      let port
      let host = '127.0.0.1'
      let cb
      if (typeof args[0] === 'object') {
        ;({ port, host = '127.0.0.1' } = args[0])
        cb = args[1]
      } else {
        ;[port, host, cb] = args
        if (typeof host === 'function') [host, cb] = ['127.0.0.1', host]
        host ??= '127.0.0.1'
      }
      if (host === 'localhost') host = '127.0.0.1'
      if (cb) this.once('connect', cb)
      this.connecting = true
      this.remoteAddress = host
      this.remotePort = Number(port)
      connectFd({ host, port: Number(port), family: host.includes(':') ? 6 : 4 }).then(
        (fd) => {
          if (this.destroyed) return
          this.#attach(fd)
          this.emit('connect')
          this.emit('ready')
        },
        (err) => this.destroy(err)
      )
      return this
    }
    _read() {
      this.#ready.then(() => this.#conn?.resume())
    }
    _write(chunk, _enc, cb) {
      this.#touch()
      this.#ready.then(() => (this.#conn ? this.#conn.write(chunk, (e) => cb(e ?? null)) : cb(new Error('closed'))))
    }
    _writev(chunks, cb) {
      this._write(Buffer.concat(chunks.map((c) => c.chunk)), null, cb)
    }
    _final(cb) {
      this.#ready.then(() => (this.#conn ? this.#conn.end((e) => cb(e ?? null)) : cb()))
    }
    _destroy(err, cb) {
      this.setTimeout(0)
      this.#ok(false)
      const c = this.#conn
      this.#conn = null
      if (c) c.close().then(() => cb(err), cb)
      else cb(err)
    }
    #touch() {
      this.#timer?.refresh()
    }
    setTimeout(ms, cb) {
      if (this.#timer) clearTimeout(this.#timer)
      this.#timer = null
      this.#timeoutMs = ms
      if (cb) this.once('timeout', cb)
      if (ms > 0) {
        this.#timer = setTimeout(() => this.emit('timeout'), ms)
        this.#timer.unref()
      }
      return this
    }
    setNoDelay() {
      return this
    }
    setKeepAlive() {
      return this
    }
    ref() {
      return this
    }
    unref() {
      return this
    }
    destroySoon() {
      if (this.writableFinished) this.destroy()
      else this.end(() => this.destroy())
    }
  }
  return {
    name: 'boros low-level API (test adapter; boros/net not built)',
    Socket: TestSocket,
    createConnection(opts, cb) {
      return new TestSocket().connect(opts, cb)
    },
    createServer(onConnection) {
      let l = null
      return {
        listen(port, host, cb) {
          l = new Listener({ host, port }, 511, {
            onConnection: (fd) => {
              const s = new TestSocket({ fd })
              s.remoteAddress = '127.0.0.1'
              onConnection(s)
            }
          })
          queueMicrotask(cb)
          return this
        },
        address: () => l.address(),
        close(cb) {
          l?.close().then(() => cb?.())
        }
      }
    }
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
