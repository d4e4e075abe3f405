// The boros/net differential suite: every scenario of fixtures/net-scenarios.mjs runs on
// node:net and on boros/net (io_uring, in this process), and the records must be equal; the
// same scenarios then run on the fallback backend (BOROS_BACKEND=fallback, a child process),
// whose records must equal node:net's too.
import test from 'ava'
import { spawn } from 'node:child_process'
import * as nodeNet from 'node:net'
import { fileURLToPath } from 'node:url'
import * as borosNet from 'boros/net'
import { scenarios } from './fixtures/net-scenarios.mjs'

const fixture = fileURLToPath(new URL('./fixtures/net-scenarios.mjs', import.meta.url))
const nodeRecords = {}

// Asserts this process's backend: under a whole-run BOROS_BACKEND=fallback it says skipped.
;(process.env.BOROS_BACKEND === 'fallback' ? test.serial.skip : test.serial)('boros/net runs on io_uring here', (t) => {
  t.is(borosNet.backend, 'io_uring')
  t.not(borosNet.Socket, nodeNet.Socket)
})

for (const [name, run] of Object.entries(scenarios)) {
  test.serial(name, async (t) => {
    const expected = await run(nodeNet, nodeNet)
    nodeRecords[name] = expected
    const actual = await run(borosNet, nodeNet)
    t.deepEqual(actual, expected)
  })
}

/** Runs every scenario on boros/net in a child process with `env`; resolves with its output. */
function childRecords(env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`exit ${code}: ${stderr}`))))
  })
}

test.serial('the fallback backend (BOROS_BACKEND=fallback) gives node:net’s records', async (t) => {
  const out = await childRecords({ BOROS_BACKEND: 'fallback' })
  t.is(out.backend, 'node:net')
  for (const name of Object.keys(scenarios)) {
    if (nodeRecords[name] === undefined) continue
    t.deepEqual(out.records[name], JSON.parse(JSON.stringify(nodeRecords[name])), name)
  }
})

// In this process a scenario's first receive usually takes the thread's readiness slot
// (runtime/readiness.rs); with the slot off every receive is on the ring, as the second and
// later sockets of a scenario are.
;(process.env.BOROS_BACKEND === 'fallback' ? test.serial.skip : test.serial)(
  'with the readiness slot off (BOROS_NET_READINESS=0: every receive on the ring) the records are node:net’s',
  async (t) => {
    const out = await childRecords({ BOROS_NET_READINESS: '0' })
    t.is(out.backend, 'io_uring')
    for (const name of Object.keys(scenarios)) {
      if (nodeRecords[name] === undefined) continue
      t.deepEqual(out.records[name], JSON.parse(JSON.stringify(nodeRecords[name])), name)
    }
  }
)
