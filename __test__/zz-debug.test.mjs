import test from 'ava'
import express from 'express'
import http from 'node:http'
import { createServer } from 'boros/http'
import { viaFetch } from './helpers/http-diff.mjs'
function expressApp() {
  const app = express()
  app.get('/', (req, res) => res.send('Hello World!'))
  app.use((err, req, res, _next) => res.status(500).json({ error: err.message }))
  return app
}
test('dbg', async (t) => {
  const app = expressApp()
  for (const make of [http.createServer, createServer]) {
  const s = make(app)
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  console.log('listening')
  const r = await viaFetch(s.address().port, '/missing')
  console.log(r.status)
  s.closeAllConnections()
  await new Promise((r) => s.close(() => r()))
  console.log('closed')
  }
  t.pass()
})
