import express from 'express'
import { createServer } from 'boros/http'
const app = express()
app.get('/', (req, res) => res.send('Hello World!'))
app.use((err, req, res, _next) => res.status(500).json({ error: err.message }))
const s = createServer(app)
s.listen(0, '127.0.0.1', async () => {
  setTimeout(() => { console.log('TIMEOUT'); process.exit(1) }, 2000)
  const r = await fetch(`http://127.0.0.1:${s.address().port}/missing`)
  console.log(r.status, (await r.text()).length)
  process.exit(0)
})
process.on('uncaughtException', (e) => { console.log('UNCAUGHT', e); process.exit(1) })
