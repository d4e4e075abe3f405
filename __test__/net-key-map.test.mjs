// A Connection's map does not change when its receive's key stops being a small integer
// (docs/net.md, issue 21, tenth round). An op's key is its slot with the slot's generation in
// the bits above 32: a small integer for a fresh slot, a double once a slot is reused. The field
// keeping it started as -1, so V8 gave it the small-integer representation, and the first key
// of a reused slot changed that: Connection's map was deprecated, and every function optimized
// for it deoptimized and was compiled again. In the echo bench that came at the start of the
// measured pass (the new connections' receives took the warm-up's slots), on the data path of
// every Socket. The child compares the maps with V8's %HaveSameMap (it runs with
// --allow-natives-syntax: a flag of this test's child only).
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { lastLine, runChild } from './helpers/child.mjs'

const child = fileURLToPath(new URL('./fixtures/net-key-map-child.mjs', import.meta.url))

// The fallback backend has no ring and no keys: nothing to check there.
const ringOnly = process.env.BOROS_BACKEND === 'fallback' ? test.skip : test

// With the readiness slot off: the first receive's key is a ring slot's of generation 0.
ringOnly('a Connection keeps its map when its receive key is a reused slot’s (a double)', async (t) => {
  const { code, out, err } = await runChild(['--allow-natives-syntax', child], { env: { BOROS_NET_READINESS: '0' } })
  t.is(code, 0, err.slice(-2000))
  const r = JSON.parse(lastLine(out))
  // The case itself: the first key a small integer, the second above 2^32.
  t.true(r.keys[0] >= 0 && r.keys[0] < 2 ** 30, `first key ${r.keys[0]}`)
  t.true(r.keys[1] >= 2 ** 32, `second key ${r.keys[1]}`)
  t.true(r.sameMap, 'the two Connections have the same map')
})

// With it on (the default), the first receive takes the thread's readiness slot, whose keys are
// never small integers (runtime/readiness.rs), and the second is a ring slot's.
ringOnly('a Connection keeps its map when one receive is in the readiness slot and one on the ring', async (t) => {
  const { code, out, err } = await runChild(['--allow-natives-syntax', child])
  t.is(code, 0, err.slice(-2000))
  const r = JSON.parse(lastLine(out))
  t.is(r.keys[0] % 2 ** 32, 2 ** 32 - 1, `first key ${r.keys[0]}: the readiness slot's`)
  t.not(r.keys[1] % 2 ** 32, 2 ** 32 - 1, `second key ${r.keys[1]}: a ring op's`)
  t.true(r.sameMap, 'the two Connections have the same map')
})
