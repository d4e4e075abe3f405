import { createServer } from 'boros/http'
import { spawn } from 'node:child_process'
const body = Buffer.alloc(64*1024, 3)
const srv = createServer((req, res) => { res.end(body) })
srv.listen(0, '127.0.0.1', async () => {
  const w = spawn('wrk', ['-t1', '-c64', '-d4s', `http://127.0.0.1:${srv.address().port}/`])
  setTimeout(() => {
    const p = spawn('perf', ['record', '-o', `/tmp/zcperf-${process.env.BOROS_HTTP_ZC_MIN ?? 'zc'}.data`, '-g', '-p', String(process.pid), '--', 'sleep', '2'], { stdio: 'ignore' })
    p.on('close', () => {})
  }, 1000)
  w.on('close', () => { srv.closeAllConnections(); srv.close() })
})
