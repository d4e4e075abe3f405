import express from 'express'
import http from 'node:http'
import { createServer } from 'boros/http'
import { viaFetch } from './__test__/helpers/http-diff.mjs'
const app = express()
app.get('/', (req, res) => res.send('Hello World!'))
const t = setTimeout(() => { console.log('TIMEOUT'); process.exit(1) }, 4000)
for (const make of [http.createServer, createServer]) {
  const s = make(app)
  s.on('connection', (c) => c.on('close', () => console.log('conn close')))
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  console.log('listening')
  const r = await viaFetch(s.address().port, '/missing')
  console.log(r.status)
  s.closeAllConnections()
  await new Promise((r) => s.close(() => r()))
  console.log('closed')
}
clearTimeout(t)
