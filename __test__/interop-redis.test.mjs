// ioredis against a real redis-server, over boros sockets (ioredis' `Connector` option) and
// over node:net: the same workload (1,000 commands, a 1,000-command pipeline, a 1 MiB value,
// a transaction), results compared whole. The server comes from .ci/run (scripts/services.sh).
import Redis from 'ioredis'
import { impl, services } from './helpers/interop.mjs'
import { unless } from './helpers/skip.mjs'

/** ioredis' connector contract (see ioredis/built/connectors/StandaloneConnector.js) on boros. */
class BorosConnector {
  constructor(options) {
    this.options = options
    this.connecting = false
  }
  check() {
    return true
  }
  connect() {
    this.connecting = true
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        if (!this.connecting) return reject(new Error('Connection is closed.'))
        this.stream = impl.createConnection({ host: this.options.host, port: this.options.port })
        this.stream.once('error', (err) => {
          this.firstError = err
        })
        resolve(this.stream)
      })
    })
  }
  disconnect() {
    this.connecting = false
    this.stream?.end()
  }
}

const BIG = Buffer.alloc(1 << 20)
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >> 10)) & 0xff

/** The workload: every result, with the run's key prefix taken out so two runs compare. */
async function workload(redis, p) {
  const out = []
  for (let i = 0; i < 1000; i++) {
    if (i % 4 === 0) out.push(await redis.set(`${p}k${i}`, `value-${i}-${'x'.repeat(i % 50)}`))
    else if (i % 4 === 1) out.push(await redis.get(`${p}k${i - 1}`))
    else if (i % 4 === 2) out.push(await redis.incrby(`${p}counter`, i))
    else out.push(await redis.hset(`${p}h`, `f${i}`, String(i)))
  }
  const pipe = redis.pipeline()
  for (let i = 0; i < 1000; i++) {
    if (i % 2 === 0) pipe.rpush(`${p}list`, `item-${i}`)
    else pipe.lrange(`${p}list`, 0, 4)
  }
  out.push(await pipe.exec())
  out.push(await redis.set(`${p}big`, BIG))
  const big = await redis.getBuffer(`${p}big`)
  out.push(big.length, big.equals(BIG))
  out.push(await redis.strlen(`${p}big`))
  out.push(await redis.multi().incr(`${p}counter`).hgetall(`${p}h`).llen(`${p}list`).exec())
  out.push(await redis.del(`${p}big`, `${p}list`, `${p}h`, `${p}counter`))
  return JSON.parse(JSON.stringify(out).replaceAll(p, 'P:'))
}

const title = `ioredis on ${impl.name}: 1,000 commands, a pipeline, a 1 MiB value and a transaction, same results as node:net`
unless(services.redis ? undefined : services.redisWhy)(title, async (t) => {
  const { host, port } = services.redis
  const viaNode = new Redis({ host, port, lazyConnect: true })
  const viaBoros = new Redis({ host, port, lazyConnect: true, Connector: BorosConnector })
  try {
    await viaNode.connect()
    await viaBoros.connect()
    t.true(viaBoros.stream instanceof impl.Socket, 'the boros client talks over a boros socket')
    const [a, b] = [await workload(viaNode, 'node:'), await workload(viaBoros, 'boros:')]
    t.is(a.length, 1007)
    t.deepEqual(b, a)
    t.is(b[1002], BIG.length)
    t.true(b[1003])
    // Both at once, interleaved on the server.
    const [c, d] = await Promise.all([workload(viaNode, 'n2:'), workload(viaBoros, 'b2:')])
    t.deepEqual(d, c)
  } finally {
    viaNode.disconnect()
    viaBoros.disconnect()
  }
})
