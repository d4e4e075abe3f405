import { scenarios } from './fixtures/net-scenarios.mjs'
const which = process.argv[2]
const net = which === 'node' ? await import('node:net') : await import('boros/net')
const name = process.argv[3]
const t0 = Date.now()
console.log(which, JSON.stringify(await scenarios[name](net)), Date.now() - t0, 'ms')
