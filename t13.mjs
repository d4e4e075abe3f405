import { createServer } from 'boros/http'
const s = createServer((req, res) => {
  if (req.url === '/imm') setImmediate(() => res.end('imm'))
  else if (req.url === '/timer') setTimeout(() => res.end('timer'), 10)
  else res.end('sync')
})
s.listen(0, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${s.address().port}`
  for (const p of ['/sync', '/imm', '/timer']) {
    const t0 = performance.now()
    const ac = AbortSignal.timeout(1500)
    try { const r = await fetch(base + p, { signal: ac }); console.log(p, await r.text(), (performance.now() - t0).toFixed(0), 'ms') } catch (e) { console.log(p, 'FAILED', e.name) }
  }
  process.exit(0)
})
