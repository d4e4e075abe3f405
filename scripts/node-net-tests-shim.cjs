'use strict'
// Preloaded by scripts/node-net-tests.mjs: the test's `require('net')` / `import 'node:net'` is
// boros/net (the BOROS_REGISTER_NET swap alone, without boros/register's fs swap). At exit it
// prints how many connected sockets boros/net opened (BOROS-SERVED n).
const path = require('node:path')
const dist = path.join(__dirname, '..', 'dist')
require(path.join(dist, 'register-net.js')).installNet()
process.on('exit', () => {
  const loaded = require.cache[path.join(dist, 'net', 'counters.js')]
  const n = loaded ? loaded.exports.counters.opened : 0
  process.stderr.write(`\nBOROS-SERVED ${n}\n`)
})
