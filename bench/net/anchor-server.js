// The anchors of the http workload: the same four routes as bench/net/server.mjs on Bun.serve
// or Deno.serve (whichever runtime runs this file). Prints "LISTENING <port>", then serves
// until killed. Started by bench/net/run.mjs pinned to the server core, like the Node servers.
//
//   bun bench/net/anchor-server.js '{"file": "/path/64KiB"}'
//   deno run -A bench/net/anchor-server.js '{"file": "/path/64KiB"}'
const isDeno = typeof Deno !== 'undefined'
const args = isDeno ? Deno.args : process.argv.slice(2)
const spec = JSON.parse(args[0] ?? '{}')
const HOST = '127.0.0.1'
const HELLO = new TextEncoder().encode('Hello, World!')
const JSON_OBJECT = {
  items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ['a', 'b'] }))
}
const file = spec.file
  ? isDeno
    ? Deno.readFileSync(spec.file)
    : new Uint8Array(require('node:fs').readFileSync(spec.file))
  : null
const text = { 'content-type': 'text/plain' }
const octets = { 'content-type': 'application/octet-stream' }

async function handler(req) {
  const url = req.url
  const path = url.slice(url.indexOf('/', 8))
  if (path === '/json') return Response.json(JSON_OBJECT)
  if (path === '/echo') return new Response(await req.arrayBuffer(), { headers: octets })
  if (path === '/file' && file) return new Response(file, { headers: octets })
  return new Response(HELLO, { headers: text })
}

const print = (line) => {
  if (isDeno) Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`))
  else process.stdout.write(`${line}\n`)
}
if (isDeno) {
  Deno.serve({ port: 0, hostname: HOST, onListen: ({ port }) => print(`LISTENING ${port}`) }, handler)
} else {
  const server = Bun.serve({ port: 0, hostname: HOST, fetch: handler, idleTimeout: 0 })
  print(`LISTENING ${server.port}`)
}
