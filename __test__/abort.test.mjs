// An already-aborted signal touches nothing: `writeFile`/`appendFile` on a path and
// `fh.writeFile`/`fh.appendFile` (and `writeFile(fh)`) with a signal aborted before the call
// reject with AbortError (name, code 'ABORT_ERR', cause = the signal's reason) and leave an
// existing file byte-for-byte as it was (bytes, size, inode, mode, mtime, ctime), create no
// missing file, and pull nothing from an iterable or stream source. Every scenario of
// fixtures/abort-scenarios.mjs runs against boros/fs and node:fs/promises, and the two records
// must be equal (differential), on both backends: io_uring in this process, the fallback
// (node:fs) in a child process with BOROS_BACKEND=fallback.
import test from 'ava'
import { spawn } from 'node:child_process'
import * as fsp from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { MIDWAY, newBase, runAll, runtime, scenarios } from './fixtures/abort-scenarios.mjs'
import { notOnRing, unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/abort-scenarios.mjs', import.meta.url))

function child(env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fixture], { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', reject)
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

const base = newBase()
let here
let fallback
test.before(async () => {
  fallback = child({ BOROS_BACKEND: 'fallback' })
  fallback.catch(() => undefined)
  if (notOnRing === undefined) here = await runAll(base)
})
test.after.always(async () => {
  await fsp.rm(base, { recursive: true, force: true })
})

/** What every record must show, whatever Node does. */
function untouched(t, rec, s, who) {
  const at = `${who}: ${s.name}`
  t.deepEqual(
    { name: rec.settled.name, code: rec.settled.code, causeIsReason: rec.settled.causeIsReason },
    { name: 'AbortError', code: 'ABORT_ERR', causeIsReason: true },
    `${at}: rejects with AbortError whose cause is the signal's reason (got ${JSON.stringify(rec.settled)})`
  )
  t.is(rec.pulls ?? 0, 0, `${at}: pulls nothing from the data source`)
  if (s.target === 'missing') {
    t.false(rec.created, `${at}: creates no file`)
    t.deepEqual(rec.dirEntries, [], `${at}: directory stays empty`)
  } else {
    t.deepEqual(
      rec.file,
      {
        sameBytes: true,
        bytes: '<original>',
        sameSize: true,
        sameIno: true,
        sameMode: true,
        sameMtime: true,
        sameCtime: true,
        sameNlink: true
      },
      `${at}: existing file untouched`
    )
    t.deepEqual(rec.dirEntries, ['target.txt'], `${at}: no other file appears`)
  }
}

function check(t, results) {
  t.deepEqual(
    Object.keys(results).sort(),
    [...scenarios.map((s) => s.name), ...MIDWAY.map((how) => `midway ${how}`)].sort()
  )
  // Aborted between chunks: the chunk before the abort is written, the one after is taken
  // (Node checks after taking it) but not written, and nothing more is taken.
  for (const how of MIDWAY) {
    const { boros, node } = results[`midway ${how}`]
    t.like(node, { settled: { name: 'AbortError', code: 'ABORT_ERR', causeIsReason: true }, pulls: 2 }, how)
    t.deepEqual(boros, node, `midway ${how}: boros matches node:fs/promises`)
  }
  for (const s of scenarios) {
    const { boros, node } = results[s.name]
    untouched(t, node, s, 'node:fs/promises') // the premise: this is what Node does
    untouched(t, boros, s, 'boros/fs')
    t.deepEqual(boros, node, `${s.name}: boros matches node:fs/promises`)
  }
}

// Off the ring this process is on the fallback too: the child below checks that backend.
unless(notOnRing)('io_uring backend: an already-aborted write touches nothing and rejects like node', (t) => {
  t.is(runtime().backend, 'io_uring')
  check(t, here)
})

test('fallback backend (BOROS_BACKEND=fallback): an already-aborted write touches nothing and rejects like node', async (t) => {
  const r = await fallback
  t.is(r.backend, 'fallback')
  check(t, r.results)
})
