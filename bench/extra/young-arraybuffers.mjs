#!/usr/bin/env node
// Which collector frees short-lived large ArrayBuffers (docs/net.md, "16 KiB x 64 on Node 24:
// which collector frees the receive Buffers"): allocates --count ArrayBuffers of --size bytes,
// keeps none, and with each one --garbage bytes of short-lived small objects (what a server's
// JavaScript allocates per message besides the received Buffer), then counts the collections
// by kind (minor = scavenge, major = mark-compact) from the process's own gc entries. No V8
// flag is set: run it with each Node to compare, e.g.
//
//   node bench/extra/young-arraybuffers.mjs [--size 16384] [--count 20000] [--garbage 0,256,512,1024]
//
// Node 20 (V8 11.3) scavenges once the young generation's ArrayBuffers hold 32 MiB; Node 24
// (V8 13.6) only at 128 MiB, above the 64 MiB of external memory that starts a mark-compact,
// so there the buffers are freed by scavenges only when enough small garbage comes with them.
import { execFileSync } from 'node:child_process'
import { PerformanceObserver, constants } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const { values: a } = parseArgs({
  options: {
    size: { type: 'string', default: '16384' },
    count: { type: 'string', default: '20000' },
    garbage: { type: 'string', default: '0,256,512,1024' },
    one: { type: 'string' }
  }
})
const size = Number(a.size)
const count = Number(a.count)

if (a.one === undefined) {
  // Each amount in a process of its own: what one run leaves in the heap (a grown young
  // generation) would decide the next.
  console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${count} ArrayBuffers of ${size} bytes`)
  for (const garbage of a.garbage.split(',')) {
    const args = [new URL(import.meta.url).pathname, '--size', a.size, '--count', a.count, '--one', garbage]
    process.stdout.write(execFileSync(process.execPath, args, { encoding: 'utf8' }))
  }
} else {
  const garbage = Number(a.one)
  const counts = { minor: 0, major: 0 }
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++
      else if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  const tick = () => new Promise((resolve) => setImmediate(resolve))
  // The small garbage goes through this ring, so the compiler cannot drop it.
  const ring = new Array(64).fill(null)
  let sink = 0 // bytes allocated, printed so nothing is optimised away
  for (let i = 0; i < count; i++) {
    const b = new ArrayBuffer(size)
    sink += b.byteLength
    for (let g = 0; g < garbage; g += 32) ring[(i + g) & 63] = [i, g] // ~32 bytes each
    if (i % 64 === 63) await tick() // a batch, then the event loop (where V8 runs its GC tasks)
  }
  await tick()
  await tick()
  obs.disconnect()
  console.log(
    `  ${String(garbage).padStart(5)} B of small garbage per buffer: ${counts.minor} scavenges, ${counts.major} mark-compacts (${sink / 2 ** 20} MiB)`
  )
}
