// Network workload 2: node:http, keep-alive, driven by wrk (one thread): the same
// http.Server handler on libuv (it listens itself) and on boros/net (a boros server hands
// every accepted socket to it with server.emit('connection', socket)).
export default {
  name: 'http',
  net: true,
  title: 'node:http keep-alive (wrk, one thread)',
  unit: 'req/s',
  op: 'HTTP request',
  base: 'http-node',
  boros: 'http-boros',
  contenders: ['http-node', 'http-boros'],
  configs: (o) => {
    const out = []
    for (const [what, path, bodyBytes] of [
      ['hello', '/', 13],
      ['64 KiB file', '/file', 64 * 1024]
    ])
      for (const conns of o.quick ? [64] : [64, 1000])
        out.push({ label: `${what} x ${conns} conns`, path, bodyBytes, conns })
    return out
  }
}
