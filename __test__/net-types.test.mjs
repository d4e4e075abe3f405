// boros/net's .d.ts: node:net's overloads (listen, connect, new Server(options, listener)),
// checked by the TypeScript compiler on fixtures/net-types.ts (which also holds a
// @ts-expect-error that fails the check if a wrong call ever compiles).
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

test('the public boros/net types take node:net’s call forms', (t) => {
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--skipLibCheck',
      'fixtures/net-types.ts'
    ],
    { cwd: path.join(root, '__test__'), encoding: 'utf8' }
  )
  t.is(r.status, 0, r.stdout + r.stderr)
})
