// A direct handle (`open(path, { flags, direct: true })`: a slot of the ring's registered file
// table, no descriptor) must behave exactly as a plain handle, and must never reach another
// descriptor. Every FileHandle method (read in all its overloads, readv, write (buffer and
// string), writev, stat (and `{ bigint: true }`), truncate, chmod, chown, utimes, sync, datasync,
// readFile, writeFile, appendFile, readLines, createReadStream, createWriteStream,
// readableWebStream, close, Symbol.asyncDispose, fd) runs on a direct handle and on a plain
// handle of an identical copy of the file, in a child process whose descriptors 0..9 are all an
// unrelated file opened read-write (a daemon whose stdin is closed can have a file there; slot
// numbers are small, so a slot number mistaken for a descriptor lands on it). For each method:
// the same results (return values or errors), the same resulting file (bytes, size, mode,
// times where the method sets them), and the unrelated file untouched (bytes, mode, mtime,
// ctime). At the end the unrelated file must be as the parent made it.
//
// The steps are in fixtures/direct-handle-child.mjs. A control child runs them with both
// handles plain: it must pass whatever the direct handle does (it checks the harness).
// io_uring backend only: on the fallback backend there are no direct handles.
import ava from 'ava'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { STEPS } from './fixtures/direct-handle-child.mjs'
import { notOnRing, unless } from './helpers/skip.mjs'

// Every test of this file (the children inherit this process's backend).
const test = unless(notOnRing && `${notOnRing}: the fallback has no direct handles`)

const fixture = fileURLToPath(new URL('./fixtures/direct-handle-child.mjs', import.meta.url))
const UNRELATED = Buffer.from('UNRELATED FILE on descriptors 0..9: nothing may change it.\n')
const UNTOUCHED = { sameBytes: true, bytes: '<as it was>', sameMode: true, sameCtime: true, sameMtime: true }

/**
 * Runs the child in `mode` ('direct' or 'plain') with an unrelated file on descriptors 0..9;
 * resolves with its result and the unrelated file's state before and after.
 */
async function runChild(mode) {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), `boros-direct-${mode}-`))
  const unrelated = path.join(work, 'unrelated.txt')
  const resultFile = path.join(work, 'result.json')
  await fsp.writeFile(unrelated, UNRELATED)
  await fsp.chmod(unrelated, 0o644)
  const before = await fsp.stat(unrelated)
  const fd = fs.openSync(unrelated, 'r+')
  try {
    const code = await new Promise((resolve, reject) => {
      // stdin, stdout, stderr and 3..9: all the unrelated file. The child prints nothing
      // (--no-warnings; a crash is written to the result file).
      const child = spawn(process.execPath, ['--no-warnings', fixture, mode, unrelated, resultFile, work], {
        stdio: Array(10).fill(fd)
      })
      child.on('error', reject)
      child.on('close', resolve)
    })
    const after = await fsp.stat(unrelated)
    const bytes = await fsp.readFile(unrelated)
    const result = JSON.parse(await fsp.readFile(resultFile, 'utf8').catch(() => '{"crashed":"no result file"}'))
    return {
      code,
      result,
      unrelated: {
        sameBytes: bytes.equals(UNRELATED),
        bytes: bytes.equals(UNRELATED) ? '<as it was>' : bytes.toString('latin1').slice(0, 300),
        sameMode: after.mode === before.mode,
        sameCtime: after.ctimeMs === before.ctimeMs,
        sameMtime: after.mtimeMs === before.mtimeMs
      }
    }
  } finally {
    fs.closeSync(fd)
    await fsp.rm(work, { recursive: true, force: true })
  }
}

let direct
let control
ava.before(() => {
  if (notOnRing) return
  direct = runChild('direct')
  control = direct.then(() => runChild('plain')) // one at a time: the machine is small
  control.catch(() => undefined)
})

/** What a side did, without its descriptor number (a direct handle has none). */
function side(rec) {
  return { calls: rec.calls, file: rec.file }
}

async function stepRecord(t, run, name) {
  const r = await run
  t.is(r.code, 0, `child exit status (crash: ${r.result.crashed ?? 'none'})`)
  t.is(r.result.backend, 'io_uring')
  const rec = r.result.results?.[name]
  t.truthy(rec, `no record for ${name}`)
  return rec
}

for (const name of Object.keys(STEPS)) {
  test(`direct vs plain: ${name}`, async (t) => {
    const rec = await stepRecord(t, direct, name)
    if (rec === undefined) return
    // The premise: `a` really is a direct handle (not the plain fallback of a full file table).
    t.deepEqual(
      { aDirect: rec.a.direct, aFd: rec.a.fd, bDirect: rec.b.direct, bFdAbove9: rec.b.fd > 9 },
      { aDirect: true, aFd: -1, bDirect: false, bFdAbove9: true },
      'a direct handle (fd -1) against a plain one (descriptors 0..9 are taken)'
    )
    // One comparison, so that the report shows every difference of the step at once.
    t.deepEqual(
      { ...side(rec.a), unrelated: rec.unrelated },
      { ...side(rec.b), unrelated: UNTOUCHED },
      `${name}: the direct handle gives what the plain one gives, and leaves the unrelated file alone`
    )
  })
}

test('direct vs plain: the unrelated file on descriptors 0..9 is as it was at the end', async (t) => {
  const r = await direct
  t.deepEqual(r.unrelated, UNTOUCHED)
})

test('control (both handles plain): every step gives the same on both, the unrelated file untouched', async (t) => {
  const r = await control
  t.is(r.code, 0, `child exit status (crash: ${r.result.crashed ?? 'none'})`)
  t.is(r.result.backend, 'io_uring')
  t.deepEqual(Object.keys(r.result.results), Object.keys(STEPS))
  const got = {}
  const want = {}
  for (const [name, rec] of Object.entries(r.result.results)) {
    got[name] = { ...side(rec.a), unrelated: rec.unrelated, direct: [rec.a.direct, rec.b.direct] }
    want[name] = { ...side(rec.b), unrelated: UNTOUCHED, direct: [false, false] }
  }
  t.deepEqual(got, want)
  t.deepEqual(r.unrelated, UNTOUCHED)
})
