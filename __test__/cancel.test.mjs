// Cancellation in the kernel: Future.cancel(), AbortSignal, Task and TaskGroup.
// Reads on an empty FIFO never complete by themselves: io_uring arms a poll for them, so they
// stay in flight until cancelled, which makes every test here deterministic.
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setMaxListeners } from 'node:events'
import { execFileSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { ops, stats, spawn, Task, TaskGroup, Future, AbortError } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'
import { notOnRing, unless } from './helpers/skip.mjs'

// Off the ring (BOROS_BACKEND=fallback, or no io_uring here) there is nothing in the kernel to
// cancel: `ops`/`Future` throw ERR_BOROS_IO_URING_UNAVAILABLE, boros/fs is node:fs/promises
// (which knows no Task), and a node:fs read of an empty FIFO blocks a libuv thread that no
// signal can take back. Those tests are skipped there; the one that checks data runs on both.
const ring = unless(notOnRing && `${notOnRing}: cancellation in the kernel is the ring's`, { serial: true })

const { O_RDWR, O_NONBLOCK, O_WRONLY } = fs.constants
let dir
let n = 0

test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-cancel-'))
})
test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

function mkfifo() {
  const p = path.join(dir, `fifo-${n++}`)
  execFileSync('mkfifo', [p])
  return p
}

/**
 * Fails instead of hanging when `p` never settles, naming `what`. The bound is a safety net,
 * not a claim about speed: no passing run comes near it, loaded or not (it was 0.5-3 s).
 */
function within(p, what) {
  let timer
  return Promise.race([
    Promise.resolve(p).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`never settled: ${what}`)), 60_000)
    })
  ])
}

/** Waits until nothing is in flight on this thread's ring (a leak never gets there: the test times out). */
async function drained() {
  while (stats().inFlight > 0) await sleep(5)
  return stats().inFlight
}

function isAbortError(t, e) {
  t.true(e instanceof Error)
  t.is(e?.name, 'AbortError')
  t.is(e?.code, 'ABORT_ERR')
}

async function settledState(p) {
  let state = 'pending'
  p.then(
    () => (state = 'fulfilled'),
    () => (state = 'rejected')
  )
  await sleep(50)
  return state
}

// --- Future -----------------------------------------------------------------------------

ring('Future.cancel() cancels a read blocked in the kernel: AbortError, nothing left in flight', async (t) => {
  const fifo = mkfifo()
  const fd = fs.openSync(fifo, O_RDWR | O_NONBLOCK)
  try {
    const before = stats()
    const f = ops.read(fd, Buffer.alloc(16))
    t.true(f instanceof Future)
    t.is(await settledState(f), 'pending')
    t.false(f.settled)
    t.is(stats().inFlight, before.inFlight + 1)
    const reason = new Error('stop it')
    t.true(f.cancel(reason))
    t.true(f.cancel(), 'cancel() while the cancellation is pending still reports true')
    const e = await within(t.throwsAsync(f.toPromise()), 'cancelled future')
    isAbortError(t, e)
    t.true(e instanceof AbortError)
    t.is(e.cause, reason)
    t.true(f.settled)
    t.false(f.cancel(), 'cancel() after settling reports false')
    t.is(stats().inFlight, 0)
    t.true(stats().opsCompleted > before.opsCompleted)
    // The pipe is intact: a new read gets what is written now.
    fs.writeSync(fd, 'after')
    const b = Buffer.alloc(16)
    t.is(await within(ops.read(fd, b), 'read after cancel'), 5)
    t.is(b.subarray(0, 5).toString(), 'after')
  } finally {
    fs.closeSync(fd)
  }
})

ring('Future.cancel() in the same tick as the read (before submission) rejects with AbortError', async (t) => {
  const fifo = mkfifo()
  const fd = fs.openSync(fifo, O_RDWR)
  try {
    const f = ops.read(fd, Buffer.alloc(4))
    t.true(f.cancel())
    isAbortError(t, await within(t.throwsAsync(f.toPromise()), 'cancel before submit'))
    t.is(stats().inFlight, 0)
  } finally {
    fs.closeSync(fd)
  }
})

ring('Future.cancel() after completion returns false and the value stands', async (t) => {
  const f = ops.nop()
  await f
  t.true(f.settled)
  t.false(f.cancel())
  t.is(await f, undefined)
})

ring('Future with { signal }: aborting cancels the kernel op', async (t) => {
  const fifo = mkfifo()
  const fd = fs.openSync(fifo, O_RDWR | O_NONBLOCK)
  try {
    const ac = new AbortController()
    const f = ops.read(fd, Buffer.alloc(4), 0, 4, null, { signal: ac.signal })
    t.is(await settledState(f), 'pending')
    ac.abort('because')
    const e = await within(t.throwsAsync(f.toPromise()), 'aborted future')
    isAbortError(t, e)
    t.is(e.cause, 'because')
    t.is(stats().inFlight, 0)
  } finally {
    fs.closeSync(fd)
  }
})

// --- AbortSignal on boros/fs ------------------------------------------------------------

ring('FileHandle.read with { signal } aborted after 50 ms rejects with AbortError', async (t) => {
  const fifo = mkfifo()
  const fh = await bfs.open(fifo, O_RDWR)
  try {
    const ac = new AbortController()
    const buf = Buffer.alloc(8)
    const started = Date.now()
    setTimeout(() => ac.abort(), 50)
    const e = await within(t.throwsAsync(fh.read(buf, { signal: ac.signal })), 'aborted read')
    isAbortError(t, e)
    t.true(Date.now() - started >= 45)
    t.is(stats().inFlight, 0)
    // Nothing was consumed: a later read gets the data.
    const w = fs.openSync(fifo, O_WRONLY | O_NONBLOCK)
    fs.writeSync(w, 'xyz')
    fs.closeSync(w)
    const r = await within(fh.read(buf, 0, 8, null), 'read after abort')
    t.is(r.bytesRead, 3)
    t.is(buf.subarray(0, 3).toString(), 'xyz')
  } finally {
    await within(fh.close(), 'close after an aborted read')
  }
})

ring('an already-aborted signal rejects at once without submitting anything', async (t) => {
  const fifo = mkfifo()
  const fh = await bfs.open(fifo, O_RDWR)
  try {
    const reason = new Error('already')
    const signal = AbortSignal.abort(reason)
    await sleep(10)
    const before = stats()
    const e1 = await within(t.throwsAsync(fh.read(Buffer.alloc(4), { signal })), 'fh.read')
    isAbortError(t, e1)
    t.is(e1.cause, reason)
    const e2 = await within(
      t.throwsAsync(ops.read(fh.fd, Buffer.alloc(4), 0, 4, null, { signal }).toPromise()),
      'ops.read'
    )
    isAbortError(t, e2)
    const e3 = await within(t.throwsAsync(bfs.readFile(fifo, { signal })), 'readFile')
    isAbortError(t, e3)
    const after = stats()
    t.is(after.opsSubmitted, before.opsSubmitted)
    t.is(after.inFlight, 0)
  } finally {
    await within(fh.close(), 'close')
  }
})

ring('readFile of a FIFO with { signal } stops when aborted', async (t) => {
  const fifo = mkfifo()
  const keep = fs.openSync(fifo, O_RDWR | O_NONBLOCK) // a writer, so the read blocks instead of EOF
  try {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const e = await within(t.throwsAsync(bfs.readFile(fifo, { signal: ac.signal })), 'readFile')
    isAbortError(t, e)
    t.is(await drained(), 0) // readFile closes its handle after the rejection
  } finally {
    fs.closeSync(keep)
  }
})

// Completed operations must not be reported as aborted. Future documents (and does) "if the
// operation finished first, it settles with its own result instead"; the signal/task path in
// src-ts/binding.ts `submit()` does not: its waiter does
//   if (cancelledBy !== undefined) { reject(abortError(cancelledBy)); return }
// without looking at `result`, so an op that had already completed successfully in the kernel
// (result >= 0, bytes already copied into the caller's buffer, file position already advanced,
// or a write already done) is rejected with AbortError. Here 6000 reads are reaped in one
// poll callback and delivered in chunks of 4096; the first resolution aborts the signal, and
// the remaining 1904 completed reads (their buffers are filled) reject with AbortError.
// Fix: reject only when `result < 0` (e.g. -ECANCELED/-EINTR), as Future does.
test.serial('an abort that comes after the kernel completed the read does not turn it into AbortError', async (t) => {
  const f = path.join(dir, 'abc')
  fs.writeFileSync(f, 'ABCDEFGH')
  const fh = await bfs.open(f, 'r')
  try {
    const ac = new AbortController()
    setMaxListeners(0, ac.signal)
    const N = 6000
    const bufs = Array.from({ length: N }, () => Buffer.alloc(8))
    let first = true
    const reads = bufs.map((b) =>
      fh.read(b, { position: 0, signal: ac.signal }).then((r) => {
        if (first) {
          first = false
          ac.abort()
        }
        return r
      })
    )
    const results = await Promise.allSettled(reads)
    let completedButRejected = 0
    results.forEach((r, i) => {
      if (r.status === 'rejected' && bufs[i].toString() === 'ABCDEFGH') completedButRejected++
    })
    t.is(completedButRejected, 0, `${completedButRejected} reads filled their buffer yet rejected with AbortError`)
  } finally {
    await fh.close()
  }
})

ring('Future: an op that completed before cancel() keeps its result (6000-read batch)', async (t) => {
  const f = path.join(dir, 'abc2')
  fs.writeFileSync(f, 'ABCDEFGH')
  const fd = fs.openSync(f, 'r')
  try {
    const N = 6000
    const bufs = Array.from({ length: N }, () => Buffer.alloc(8))
    const futures = bufs.map((b) => ops.read(fd, b, 0, 8, 0))
    let first = true
    const results = await Promise.allSettled(
      futures.map((fu) =>
        fu.then((r) => {
          if (first) {
            first = false
            for (const g of futures) g.cancel()
          }
          return r
        })
      )
    )
    results.forEach((r, i) => {
      if (r.status === 'rejected') t.not(bufs[i].toString(), 'ABCDEFGH', `read ${i} completed but rejected`)
      else t.is(bufs[i].toString(), 'ABCDEFGH')
    })
    t.is(stats().inFlight, 0)
  } finally {
    fs.closeSync(fd)
  }
})

// --- Task ---------------------------------------------------------------------------------

ring('task.cancel() cancels the kernel op the task is waiting on', async (t) => {
  const fifo = mkfifo()
  const fh = await bfs.open(fifo, O_RDWR)
  try {
    let sawSignal
    const task = spawn(async (signal) => {
      sawSignal = signal
      await ops.nop() // ops in awaited continuations belong to the task too
      const r = await fh.read(Buffer.alloc(8), 0, 8, null)
      return r.bytesRead
    })
    t.true(task instanceof Task)
    t.is(await settledState(task), 'pending')
    t.false(task.done)
    t.is(stats().inFlight, 1)
    task.cancel()
    const e = await within(t.throwsAsync(Promise.resolve(task)), 'cancelled task')
    isAbortError(t, e)
    t.true(task.done)
    t.true(task.signal.aborted)
    t.is(sawSignal, task.signal)
    t.is(stats().inFlight, 0)
  } finally {
    // The cancelled read must not be counted as still pending on the handle.
    await within(fh.close(), 'close after a cancelled task read')
  }
})

ring('task.cancel(reason): the AbortError carries the reason; a finished task ignores cancel', async (t) => {
  const fifo = mkfifo()
  const fd = fs.openSync(fifo, O_RDWR)
  try {
    const task = spawn(() => ops.read(fd, Buffer.alloc(4)))
    await sleep(20)
    const reason = new Error('enough')
    task.cancel(reason)
    const e = await within(t.throwsAsync(Promise.resolve(task)), 'task')
    isAbortError(t, e)
    t.is(e.cause, reason)
    t.is(stats().inFlight, 0)

    const ok = spawn(async () => 42)
    t.is(await ok, 42)
    ok.cancel()
    t.false(ok.signal.aborted)
    t.is(await ok, 42)
  } finally {
    fs.closeSync(fd)
  }
})

ring('ops outside a task are not cancelled by task.cancel()', async (t) => {
  const fifo = mkfifo()
  const fd = fs.openSync(fifo, O_RDWR)
  try {
    const outside = ops.read(fd, Buffer.alloc(4))
    const task = spawn(() => ops.read(fd, Buffer.alloc(4)))
    await sleep(20)
    task.cancel()
    isAbortError(t, await within(t.throwsAsync(Promise.resolve(task)), 'task'))
    t.is(await settledState(outside), 'pending')
    t.is(stats().inFlight, 1)
    outside.cancel()
    await t.throwsAsync(outside.toPromise())
    t.is(stats().inFlight, 0)
  } finally {
    fs.closeSync(fd)
  }
})

// --- TaskGroup ------------------------------------------------------------------------------

ring(
  'TaskGroup: a failing child cancels a sibling blocked in the kernel; wait() rethrows the first error',
  async (t) => {
    const fifo = mkfifo()
    const fh = await bfs.open(fifo, O_RDWR)
    try {
      const group = new TaskGroup()
      const boom = new Error('boom')
      const sibling = group.spawn(async () => {
        await fh.read(Buffer.alloc(8), 0, 8, null)
        return 'sibling finished'
      })
      const failing = group.spawn(async () => {
        await sleep(30)
        throw boom
      })
      const later = group.spawn(async () => {
        await sleep(60)
        throw new Error('second failure')
      })
      const e = await within(t.throwsAsync(group.wait()), 'group.wait()')
      t.is(e, boom)
      const se = await t.throwsAsync(Promise.resolve(sibling))
      isAbortError(t, se)
      t.is(se.cause, boom)
      t.true(sibling.done)
      t.true(sibling.signal.aborted)
      t.is(await t.throwsAsync(Promise.resolve(failing)), boom)
      await t.throwsAsync(Promise.resolve(later))
      t.is(stats().inFlight, 0)
    } finally {
      await within(fh.close(), 'close')
    }
  }
)

ring('TaskGroup.wait() resolves with every result when all succeed', async (t) => {
  const f = path.join(dir, 'group')
  fs.writeFileSync(f, 'abcdef')
  const group = new TaskGroup()
  group.spawn(async () => (await bfs.readFile(f, 'utf8')).slice(0, 2))
  group.spawn(async () => {
    await ops.nop()
    return 7
  })
  t.deepEqual(await within(group.wait(), 'wait'), ['ab', 7])
})

// --- issue 24: cancel of a task whose ops finish at once --------------------------------

const openFds = () => fs.readdirSync('/proc/self/fd').length

ring('task.cancel() while its ops finish at once: the next op rejects, the task ends with AbortError', async (t) => {
  const f = path.join(dir, 'busy')
  fs.writeFileSync(f, Buffer.alloc(64 * 1024, 1))
  let reads = 0
  let afterCancel = 0
  let cancelled = false
  const task = spawn(async () => {
    const fh = await bfs.open(f)
    try {
      const buf = Buffer.alloc(4096)
      // Cached reads of a regular file: each completes as soon as it is submitted, so the
      // cancel never finds one in flight to cancel in the kernel.
      for (;;) {
        await fh.read(buf, 0, 4096, 0)
        reads++
        if (cancelled) afterCancel++
      }
    } finally {
      await fh.close()
    }
  })
  await sleep(30)
  cancelled = true
  task.cancel()
  const e = await within(t.throwsAsync(Promise.resolve(task)), 'cancelled task')
  isAbortError(t, e)
  t.true(reads > 0)
  t.true(afterCancel <= 1, `reads that started after cancel(): ${afterCancel}`)
  t.is(stats().inFlight, 0)
})

ring(
  'a cancelled task starts no new boros op: open, read, stat, fh.stat, ops.nop all reject with AbortError',
  async (t) => {
    const f = path.join(dir, 'after-cancel')
    fs.writeFileSync(f, 'data')
    const before = stats().opsSubmitted
    const outcomes = []
    const task = spawn(async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      for (const [name, op] of [
        ['open', () => bfs.open(f)],
        ['readFile', () => bfs.readFile(f)],
        ['stat', () => bfs.stat(f)],
        ['writeFile', () => bfs.writeFile(path.join(dir, 'after-cancel-new'), 'x')],
        ['nop', () => ops.nop().toPromise()]
      ]) {
        outcomes.push(
          await op().then(
            () => [name, 'fulfilled'],
            (e) => [name, e.name]
          )
        )
      }
    })
    task.cancel()
    await task.catch(() => undefined)
    t.deepEqual(
      outcomes,
      ['open', 'readFile', 'stat', 'writeFile', 'nop'].map((n) => [n, 'AbortError'])
    )
    t.false(fs.existsSync(path.join(dir, 'after-cancel-new')), 'nothing was created')
    t.is(stats().opsSubmitted, before, 'nothing was submitted')
  }
)

ring('handles of a cancelled task still close (asyncDispose), and cancelled opens leak no descriptor', async (t) => {
  const f = path.join(dir, 'leak')
  fs.writeFileSync(f, Buffer.alloc(8192, 2))
  const fds = openFds()
  for (let i = 0; i < 200; i++) {
    const task = spawn(async () => {
      for (;;) {
        // What `await using` does (Node 20 has no such syntax).
        const fh = await bfs.open(f, i % 2 === 0 ? 'r' : { flags: 'r', direct: true })
        try {
          await fh.read(Buffer.alloc(100), 0, 100, 0)
          await fh.stat()
        } finally {
          await fh[Symbol.asyncDispose]()
        }
      }
    })
    // Cancel at every point of the loop in turn: before the open, while it, the read or the
    // stat is in flight, or between them.
    for (let k = 0; k < i % 7; k++) await new Promise((resolve) => setImmediate(resolve))
    task.cancel()
    await t.throwsAsync(Promise.resolve(task), { name: 'AbortError' })
  }
  t.is(await drained(), 0) // the tasks' handles close after their rejections
  t.is(openFds(), fds, 'descriptors open before and after 200 cancelled tasks')
})
