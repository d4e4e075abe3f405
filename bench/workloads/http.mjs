// Network workload 2: HTTP/1.1 keep-alive, driven by wrk (one thread, pinned to the other
// core). The same routes on every contender (bench/net/server.mjs, bench/net/anchor-server.js):
// hello-world, 1 KiB of JSON (serialised per request), a 4 KiB POST echoed back, a 64 KiB file
// (read at start, served from memory); at 64 and 1,000 connections. A last row opens 10,000
// idle keep-alive connections and reads the server's RSS (bench/net/idle-client.mjs).
//
// Contenders: node:http on libuv (the baseline), node:http fed boros/net sockets, boros/http's
// createServer and serve, Express on node:http and on boros/http, and Bun.serve and Deno.serve
// as anchors (bench/net/anchors.mjs installs them on first use).
export default {
  name: 'http',
  net: true,
  title: 'HTTP/1.1 keep-alive (wrk, one thread)',
  unit: 'req/s',
  op: 'HTTP request',
  base: 'http-node',
  boros: 'http-boros',
  contenders: [
    'http-node',
    'http-boros',
    'http-create',
    'http-serve',
    'express-node',
    'express-boros',
    'http-create-copy',
    'http-create-zc',
    'http-serve-copy',
    'http-serve-zc',
    'express-boros-copy',
    'bun-serve',
    'deno-serve'
  ],
  configs: (o) => {
    const out = []
    for (const [what, path, bodyBytes, extra] of [
      ['hello', '/', 13],
      ['1 KiB JSON', '/json', 1000],
      ['4 KiB POST echo', '/echo', 4096, { method: 'POST', postBytes: 4096 }],
      ['64 KiB file', '/file', 64 * 1024]
    ])
      for (const conns of o.quick ? [64] : [64, 1000])
        out.push({ label: `${what} x ${conns} conns`, path, bodyBytes, conns, ...extra })
    out.push({ label: 'idle x 10000 conns (RSS)', path: '/', conns: 10_000, idle: 10_000 })
    return out
  }
}
