// N worker threads, each with its own io_uring ring, serve one TCP port: every worker listens
// with `reusePort: true` and the kernel spreads new connections over them (SO_REUSEPORT).
//
//   node examples/net-workers.mjs [workers=2] [port=8000]
//   then: for i in $(seq 8); do nc -q1 127.0.0.1 8000 </dev/null; done
import { isMainThread, threadId, Worker, workerData } from 'node:worker_threads'
import { availableParallelism } from 'node:os'

if (isMainThread) {
  const n = Number(process.argv[2] ?? Math.min(2, availableParallelism()))
  const port = Number(process.argv[3] ?? 8000)
  for (let i = 0; i < n; i++) new Worker(new URL(import.meta.url), { workerData: { port } })
  console.log(`${n} workers on port ${port} (Ctrl-C to stop)`)
} else {
  const net = await import('boros/net')
  const server = net.createServer((socket) => socket.end(`hello from worker ${threadId} (${net.backend})\n`))
  server.listen({ port: workerData.port, host: '127.0.0.1', reusePort: true })
}
