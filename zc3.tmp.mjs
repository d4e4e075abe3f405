import { stats } from 'boros'
import { createServer } from 'boros/http'
import { execFileSync } from 'node:child_process'
const body = Buffer.alloc(64*1024, 3)
let n = 0
const srv = createServer((req, res) => { n++; res.end(body) })
srv.listen(0, '127.0.0.1', async () => {
  const s0 = stats(); const c0 = process.cpuUsage(); const n0 = n
  const { spawn } = await import('node:child_process')
  const w = spawn('wrk', ['-t1', '-c64', '-d3s', `http://127.0.0.1:${srv.address().port}/`])
  w.stdout.on('data', () => {})
  w.on('close', () => {
    const s1 = stats(); const c = process.cpuUsage(c0); const reqs = n - n0
    console.log(process.env.BOROS_HTTP_ZC_MIN ?? 'zc', 'reqs', reqs, 'cpu us/req', ((c.user + c.system) / reqs).toFixed(1), 'user', (c.user/reqs).toFixed(1), 'sys', (c.system/reqs).toFixed(1),
      'zc sends/req', ((s1.httpZeroCopySends - s0.httpZeroCopySends) / reqs).toFixed(3), 'copied', s1.httpZeroCopyCopied - s0.httpZeroCopyCopied, 'ops/req', ((s1.opsCompleted - s0.opsCompleted)/reqs).toFixed(2))
    srv.closeAllConnections(); srv.close()
  })
})
