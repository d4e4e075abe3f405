// A failed io_uring_enter reaches the operations it carried (issue 19, item 6): injected with
// the binding's test hook (failNextEnter, BOROS_TEST_FAULTS=1), in a worker so that the ring
// given up is the worker's own.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { unless } from './helpers/skip.mjs'

const fixture = new URL('./fixtures/submit-fault-worker.mjs', import.meta.url)
// Decided at load time: the hook exists only on the ring; elsewhere the test says skipped, not passed.
const { runtime } = await import('../dist/index.js')
const backend = runtime().backend
const ringTest = unless(
  backend === 'io_uring' ? undefined : `the hook exists only on the ring; this process is on ${backend}`,
  {
    serial: true
  }
)
const { nativeBinding } = await import('../dist/binding.js')
const native = nativeBinding()
const TITLE = 'EAGAIN/EBUSY are retried; another errno fails every op of the enter, then the ring refuses more'

ringTest(TITLE, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-fault-'))
  const file = path.join(dir, 'f')
  fs.writeFileSync(file, 'DATA-FILE')
  process.env.BOROS_TEST_FAULTS = '1'
  try {
    const w = new Worker(fixture, { workerData: { file } })
    // Listened for before the message: when the worker's message and exit reach this thread
    // in one turn, Node emits 'exit' right after 'message', before an await could attach it.
    const exited = new Promise((resolve) => w.once('exit', resolve))
    const out = await new Promise((resolve, reject) => {
      w.once('message', resolve)
      w.once('error', reject)
    })
    await exited
    t.is(out.backend, 'io_uring')
    t.deepEqual(out.retried, { read: 'DATA', readFile: 'DATA-FILE' })
    t.like(out.failed.queued, { ok: false, code: 'EBADF' })
    t.like(out.failed.call, { ok: false, code: 'EBADF' })
    t.like(out.after.queued, { ok: false, code: 'EBADF' })
    t.like(out.after.call, { ok: false, code: 'ERR_BOROS_SUBMIT' })
  } finally {
    delete process.env.BOROS_TEST_FAULTS
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

const REFUSED = 'the hook is refused without BOROS_TEST_FAULTS=1'
unless(native ? undefined : 'no native binding', { serial: true })(REFUSED, (t) => {
  t.throws(() => native.failNextEnter(11, 1), { code: 'ERR_BOROS_UNSUPPORTED_RUNTIME' })
})
