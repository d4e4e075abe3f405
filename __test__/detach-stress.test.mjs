// Safety under detach + GC (issue #4): a child `node --expose-gc` keeps reads in flight while
// their ArrayBuffers are transferred away (structuredClone / postMessage) and collected, with
// cancel, close-while-in-flight, readChunks and a terminated worker mixed in. Reads into a
// detached buffer must reject with EFAULT, the others must return the right bytes, and the
// process must not crash. (Memory errors themselves: scripts/memcheck.sh runs the same
// workload under valgrind.)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { notOnRing, unless } from './helpers/skip.mjs'

// The child inherits this process's backend; off the ring its reads are node:fs's, which resolve
// into a transferred buffer (as in Node): the EFAULT guarantee is the ring's.
unless(notOnRing && `${notOnRing}: node:fs reads into a transferred buffer resolve (as in Node)`)(
  'reads survive transfers and aggressive GC while in flight',
  (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-detach-'))
    try {
      const fixture = new URL('./fixtures/detach-stress.mjs', import.meta.url).pathname
      const out = spawnSync(process.execPath, ['--expose-gc', fixture, dir, '60'], {
        encoding: 'utf8',
        timeout: 60_000
      })
      t.is(out.signal, null, `child died by signal: ${out.stderr}`)
      t.is(out.status, 0, out.stderr)
      const counts = JSON.parse(out.stdout.trim().split('\n').pop())
      t.is(counts.ok, 60 * 20)
      t.is(counts.efault, 60 * 20)
      t.is(counts.aborted, 60 * 4)
      t.true(counts.chunks >= 60 * 3)
      t.is(counts.runtimeDriven, 60)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
)
