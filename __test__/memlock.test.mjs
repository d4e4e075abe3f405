// A user without CAP_IPC_LOCK under a small RLIMIT_MEMLOCK (64 KiB, still the default in many
// containers): the kernel refuses full-size rings with ENOMEM. boros retries with smaller rings,
// so such processes still get io_uring, and says what it cost (runtime().shrunk, doctor).
import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const canDrop = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0

const title = 'with ulimit -l 64 as an unprivileged user, boros sets up smaller rings and works'
// Decided at load time: without root and setpriv the check cannot run, and says skipped.
;(canDrop ? test : test.skip)(
  canDrop ? title : `${title} — skipped: needs root and setpriv (util-linux) to run a child as an unprivileged user`,
  (t) => {
    // A copy of the built package that user `nobody` can read (the checkout may be private).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-memlock-'))
    fs.chmodSync(dir, 0o755)
    try {
      for (const f of fs.readdirSync(root)) {
        if (f === 'index.js' || f === 'package.json' || f.endsWith('.node'))
          fs.copyFileSync(path.join(root, f), path.join(dir, f))
      }
      fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true })
      execFileSync('chmod', ['-R', 'a+rX', dir])
      const work = path.join(dir, 'work')
      fs.mkdirSync(work)
      fs.chmodSync(work, 0o777)
      const script = `
      const { runtime } = require(${JSON.stringify(path.join(dir, 'dist/index.js'))})
      const bfs = require(${JSON.stringify(path.join(dir, 'dist/fs/index.js'))})
      ;(async () => {
        const p = ${JSON.stringify(path.join(work, 'f'))}
        await bfs.writeFile(p, 'hello under a small memlock')
        const text = await bfs.readFile(p, 'utf8')
        const st = await bfs.stat(p)
        const r = runtime()
        console.log(JSON.stringify({ backend: r.backend, sq: r.sqEntries, shrunk: r.shrunk, text, size: st.size }))
      })()
    `
      const out = execFileSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          'bash',
          '-c',
          'ulimit -l 64 && exec "$0" -e "$1"',
          process.execPath,
          script
        ],
        { encoding: 'utf8' }
      )
      const r = JSON.parse(out)
      t.is(r.backend, 'io_uring')
      t.true(r.sq < 4096, `sq ${r.sq}`)
      t.regex(r.shrunk ?? '', /RLIMIT_MEMLOCK 64 KiB/)
      t.is(r.text, 'hello under a small memlock')
      t.is(r.size, 27)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
)
