// The idle-connections row's client: opens N keep-alive connections to the server, sends one
// request on each and reads its response, then keeps them open and idle. Prints
// "READY <open> <seconds>" when all are idle (or "FAILED <why>"), and closes them all when a
// line arrives on stdin (or stdin ends). With the path `echo` (the echo workload's row) the
// request is a 64 B message and the response the same 64 bytes echoed back.
//
//   node bench/net/idle-client.mjs <port> <connections> [path | echo]
import net from 'node:net'

const [port, n, path = '/'] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? '/']
const HOST = '127.0.0.1'
const ECHO = path === 'echo'
const req = ECHO ? 'x'.repeat(64) : `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`
const sockets = []
const t0 = performance.now()

function open() {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST)
    let got = ''
    s.setEncoding('latin1')
    s.once('error', reject)
    s.on('connect', () => s.write(req))
    s.on('data', (d) => {
      got += d
      if (ECHO) {
        if (got.length >= req.length) {
          s.removeAllListeners('data')
          resolve(s)
        }
        return
      }
      const end = got.indexOf('\r\n\r\n')
      if (end < 0) return
      const m = /content-length:\s*(\d+)/i.exec(got.slice(0, end))
      if (!m || got.length - end - 4 >= Number(m[1])) {
        s.removeAllListeners('data')
        resolve(s)
      }
    })
  })
}

try {
  // In batches, so the server's accept backlog is never the limit.
  for (let i = 0; i < n; i += 250) {
    const batch = await Promise.all(Array.from({ length: Math.min(250, n - i) }, open))
    sockets.push(...batch)
  }
  for (const s of sockets) s.on('error', () => {})
  process.stdout.write(`READY ${sockets.length} ${((performance.now() - t0) / 1000).toFixed(2)}\n`)
} catch (e) {
  process.stdout.write(`FAILED ${e.code ?? e.message} after ${sockets.length} connections\n`)
  process.exit(1)
}
const done = () => {
  for (const s of sockets) s.destroy()
  process.exit(0)
}
process.stdin.on('data', done)
process.stdin.on('end', done)
