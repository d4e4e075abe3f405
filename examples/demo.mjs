// boros demo: what the runtime is, then the main job — many file reads batched through one
// io_uring — side by side with node:fs/promises. Run: npm run demo
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as fsp from 'node:fs/promises'
import { runtime, stats } from '../dist/index.js'
import * as bfs from '../dist/fs/index.js'

const rt = runtime()
console.log(`kernel ${rt.kernel}, backend ${rt.backend}${rt.fallbackReason ? ` (${rt.fallbackReason})` : ''}`)
console.log(`ring: ${rt.sqEntries} SQ / ${rt.cqEntries} CQ entries, flags ${rt.setupFlags.join(' | ')}`)

// 2,000 small files in 20 directories, on the same disk as the temp dir.
const root = mkdtempSync(join(tmpdir(), 'boros-demo-'))
const files = []
for (let d = 0; d < 20; d++) {
  mkdirSync(join(root, `d${d}`))
  for (let f = 0; f < 100; f++) {
    const p = join(root, `d${d}`, `f${f}.txt`)
    writeFileSync(p, `file ${d}/${f}\n`.repeat(1 + ((d * 100 + f) % 200)))
    files.push(p)
  }
}

async function readAll(api) {
  const t0 = process.hrtime.bigint()
  const contents = await Promise.all(files.map((p) => api.readFile(p)))
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  return { ms, bytes: contents.reduce((n, b) => n + b.length, 0) }
}

await readAll(bfs) // warm the page cache and the JIT
await readAll(fsp)
const before = stats()
const b = await readAll(bfs)
const after = stats()
const n = await readAll(fsp)
console.log(`boros/fs           readFile x ${files.length}: ${b.ms.toFixed(1)} ms, ${b.bytes} bytes, ` +
  `${after.enterCalls - before.enterCalls} io_uring_enter calls for ${after.opsCompleted - before.opsCompleted} ops`)
console.log(`node:fs/promises   readFile x ${files.length}: ${n.ms.toFixed(1)} ms, ${n.bytes} bytes`)

// One file handle, 10,000 positional reads started in one tick: one batch, a few enters.
const fh = await bfs.open(files[0])
const s0 = stats()
await Promise.all(Array.from({ length: 10000 }, () => fh.read(Buffer.alloc(8), 0, 8, 0)))
const s1 = stats()
await fh.close()
console.log(`10,000 reads started in one tick: ${s1.enterCalls - s0.enterCalls} io_uring_enter calls`)
rmSync(root, { recursive: true, force: true })
