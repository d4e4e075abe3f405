// The wire protocol is defined once (crates/boros-node/src/wire.rs) and generated into
// src-ts/wire.ts; these tests check that what the façade uses is what the binary speaks.
import test from 'ava'
import { createRequire } from 'node:module'
import * as wire from '../dist/wire.js'
import { codes } from '../dist/index.js'

const require = createRequire(import.meta.url)
const native = require('../index.js')

test('the binary and the façade carry the same protocol digest', (t) => {
  t.is(native.WIRE_DIGEST, wire.DIGEST)
})

test('init refuses a façade whose digest differs, naming both builds', (t) => {
  const err = t.throws(() =>
    native.init(
      wire.DIGEST ^ 1,
      () => {},
      new Int32Array(8),
      new Float64Array(64),
      new Int32Array(4),
      new ArrayBuffer(8192)
    )
  )
  t.is(err.code, 'ERR_BOROS_UNSUPPORTED_RUNTIME')
  t.regex(err.message, /different builds/)
})

test('codes lists every boros code the native side can raise', (t) => {
  const listed = new Set(Object.values(codes))
  for (const [name, code] of Object.entries(wire.nativeCodes)) {
    if (!code.startsWith('ERR_BOROS_')) continue // Node's own codes (ERR_INVALID_ARG_TYPE...)
    t.true(listed.has(code), `${name} (${code}) is missing from codes`)
  }
})

test('the stat record has one name per field', (t) => {
  t.is(wire.STAT_FIELD_NAMES.length, wire.STAT_FIELDS)
  t.is(new Set(wire.STAT_FIELD_NAMES).size, wire.STAT_FIELDS)
})

test('shared-queue entry fields are distinct and inside an entry', (t) => {
  const fields = Object.entries(wire).filter(
    ([k]) => k.startsWith('ENTRY_') && !/^ENTRY_(FIELDS|READ|WRITE|POOL_READ|POOL_WRITE)$/.test(k)
  )
  const idx = fields.map(([, v]) => v)
  t.is(new Set(idx).size, idx.length)
  t.true(idx.every((i) => i >= 0 && i < wire.ENTRY_FIELDS))
  t.is(idx.length, wire.ENTRY_FIELDS)
})
