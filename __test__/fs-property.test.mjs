// Property-based differential tests (fast-check): random sequences of open/read/write/truncate/
// stat/rename/unlink/close/mkdir/readdir/readFile/writeFile with random arguments, valid and
// invalid, on boros/fs and node:fs/promises in two scratch folders; every step's result or error
// (name, message, code, errno, syscall, path) and the final trees must be equal. The machinery is
// in fixtures/fs-property.mjs; a long run is `npm run fuzz:fs -- --runs N [--seed S] [--both]`.
//
// The short run here is seeded from BOROS_FUZZ_SEED or the clock, and prints its seed: a failure
// reproduces with `npm run fuzz:fs -- --seed S --runs R` (plus `--direct` for the direct run).
// Every sequence the fuzzer found and shrank stays below as a fixed regression.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import * as fsp from 'node:fs/promises'
import { check, literal, newBase, readPositionsStrict, runBoth } from './fixtures/fs-property.mjs'

const seed = Number(process.env.BOROS_FUZZ_SEED ?? Date.now() % 2 ** 31)
const runs = Number(process.env.BOROS_FUZZ_RUNS ?? 600)
let base
test.before(async () => {
  base = await newBase()
})
test.after.always(async () => {
  if (base) await fsp.rm(base, { recursive: true, force: true })
})

for (const direct of [false, true]) {
  test.serial(
    `random sequences agree with node:fs/promises${direct ? ' (boros side on direct handles)' : ''}`,
    async (t) => {
      t.log(`seed ${seed}, ${runs} sequences${direct ? ', --direct' : ''}`)
      const { details } = await check({ base, runs, seed, direct })
      if (details.failed) {
        const shrunk = details.counterexample[0]
        const diff = await runBoth(base, shrunk, { direct })
        t.fail(
          `${fc.defaultReportMessage(details)}\nshrunk sequence: ${literal(shrunk)}\n` +
            `difference: ${JSON.stringify(diff, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v), 1)}`
        )
      } else {
        t.pass()
      }
    }
  )
}

// The fallback backend (node:fs under boros' façade), in a child process: fewer sequences.
test('random sequences agree with node:fs/promises on the fallback backend', (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/fs-property.mjs', import.meta.url))
  const r = spawnSync(
    process.execPath,
    [fixture, '--runs', String(Math.ceil(runs / 3)), '--seed', String(seed), '--both'],
    {
      encoding: 'utf8',
      env: { ...process.env, BOROS_BACKEND: 'fallback' },
      timeout: 100_000
    }
  )
  t.log(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('fuzz') || l.startsWith('ok'))
      .join('\n')
  )
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`)
})

// Shrunk sequences the fuzzer found (each was a difference; each is fixed in src-ts/).
const regressions = [
  // mode -1: Node ERR_OUT_OF_RANGE (parseFileMode -> validateUint32), boros said ERR_INVALID_ARG_VALUE
  [{ op: 'open', slot: 0, name: 'a', flags: 'r', mode: -1 }],
  [{ op: 'open', slot: 0, name: 'a', flags: 'w', mode: 1.5 }],
  [{ op: 'open', slot: 0, name: 'b', flags: 'w', mode: '77777777777' }],
  // length past the buffer: Node "It must be <= 1", boros said ">= 0 && <= 1"
  [
    { op: 'open', slot: 0, name: 'a', flags: 'r' },
    { op: 'read', slot: 0, size: 1, offset: 0, length: 2 }
  ],
  [
    { op: 'open', slot: 0, name: 'a', flags: 'r+' },
    { op: 'write', slot: 0, data: [1, 2, 3, 4], offset: 5, length: 1, position: 0 },
    { op: 'write', slot: 0, data: [1, 2, 3, 4], offset: 0, length: 5, position: 0 }
  ],
  // the value shown is the length given, not the length capped at MAX_RW
  [
    { op: 'open', slot: 0, name: 'd/x', flags: 'wx' },
    { op: 'write', slot: 0, data: [0], offset: 0, length: 2147483648, position: -1 }
  ],
  // write positions Node takes as "current" (-2, 1.5, a string, an unknown encoding): boros rejected
  // them (a bigint is left out: boros writes at it on purpose, see differential.test.mjs)
  [
    { op: 'open', slot: 0, name: 'a', flags: 'r+' },
    { op: 'read', slot: 0, size: 2, offset: 0, length: 2, position: null },
    { op: 'write', slot: 0, data: [88, 89], offset: 0, length: 2, position: -2 },
    { op: 'write', slot: 0, data: [88, 89], offset: 0, length: 2, position: 1.5 },
    { op: 'writeStr', slot: 0, data: 'zz', position: '3', encoding: undefined },
    { op: 'writeStr', slot: 0, data: 'zz', position: 1.5, encoding: 'bogus' }
  ],
  // read: offset checked before the zero-length shortcut and the empty-buffer check
  [
    { op: 'open', slot: 0, name: 'a', flags: 'r' },
    { op: 'read', slot: 0, size: 0, offset: -1, length: -1, position: null }
  ],
  // closed handle: EBADF before any argument check (empty buffer, bad offset), and readFile/writeFile
  // say syscall readFile/writeFile
  [
    { op: 'open', slot: 0, name: 'a', flags: 'r' },
    { op: 'close', slot: 0 },
    { op: 'write', slot: 0, data: [], offset: 0, length: -1, position: null },
    { op: 'write', slot: 0, data: [0], offset: -1, length: 0 },
    { op: 'read', slot: 0, size: 0, offset: -1, length: 0, position: null },
    { op: 'fhReadFile', slot: 0 },
    { op: 'fhWriteFile', slot: 0, data: 'x' }
  ],
  // a string position on Node 24's read: "must be of type bigint or integer"
  ...(readPositionsStrict
    ? [
        [
          { op: 'open', slot: 1, name: 'a', flags: 'r' },
          { op: 'readObj', slot: 1, size: 1, position: '3' }
        ]
      ]
    : [])
]

for (const [i, cmds] of regressions.entries()) {
  for (const direct of [false, true]) {
    test(`regression ${i}${direct ? ' (direct)' : ''}: ${cmds.map((c) => c.op).join(' ')}`, async (t) => {
      const diff = await runBoth(base, cmds, { direct })
      t.is(
        diff,
        null,
        JSON.stringify(diff, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v), 1)
      )
    })
  }
}
