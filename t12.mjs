import express from 'express'
import { createServer } from 'boros/http'
const app = express()
app.get('/', (req, res) => res.send('Hello World!'))
app.use((err, req, res, _next) => res.status(500).json({ error: err.message }))
const s = createServer((req, res) => {
  req.on('end', () => console.log('req end'))
  req.on('resume', () => console.log('req resume'))
  const r = req.resume; req.resume = function () { console.log('resume called', new Error().stack.split('\n').slice(2,4).join('|')); return r.call(this) }
  app(req, res)
  setTimeout(() => console.log('later: finished', res.finished, 'readableEnded', req.readableEnded, 'flowing', req.readableFlowing, req._readableState.ended, 'listeners end', req.listenerCount('end'), 'complete', req.complete, 'readable', req.readable), 200)
})
s.listen(0, '127.0.0.1', async () => {
  setTimeout(() => { console.log('TIMEOUT'); process.exit(1) }, 1000)
  const r = await fetch(`http://127.0.0.1:${s.address().port}/missing`)
  console.log(r.status, (await r.text()).length)
  process.exit(0)
})
