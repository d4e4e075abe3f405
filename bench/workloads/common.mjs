// Drivers shared by the workloads: the three "shapes" of issuing I/O from JS.
// Each driver runs until `end` (a performance.now() deadline) or until the
// body reports that there is nothing left to do (returns/passes STOP).
import { performance } from 'node:perf_hooks'

export const STOP = -1

/** N concurrent async loops, each awaiting one op at a time (the in-flight model). */
export async function promiseLoops(n, end, body) {
  let ops = 0
  let bytes = 0
  async function loop(i) {
    while (performance.now() < end) {
      const b = await body(i)
      if (b === STOP) return
      ops++
      bytes += b
    }
  }
  await Promise.all(Array.from({ length: n }, (_, i) => loop(i)))
  return { ops, bytes }
}

/** N concurrent callback chains: step(i, cb) issues one op and calls cb(err, bytes). */
export function callbackChains(n, end, step) {
  return new Promise((resolve, reject) => {
    let ops = 0
    let bytes = 0
    let active = n
    let failed = false
    const finish = () => {
      if (--active === 0 && !failed) resolve({ ops, bytes })
    }
    const chain = (i) => {
      const next = () => {
        if (failed) return
        if (performance.now() >= end) return finish()
        step(i, (err, b) => {
          if (err) {
            failed = true
            return reject(err)
          }
          if (b === STOP) return finish()
          ops++
          bytes += b
          next()
        })
      }
      next()
    }
    for (let i = 0; i < n; i++) chain(i)
  })
}

/** A plain blocking loop (the sync contender; in-flight is always 1). */
export function syncLoop(end, body) {
  let ops = 0
  let bytes = 0
  for (;;) {
    // Look at the clock every 16 ops: a clock read is not free next to a cached 4 KiB pread.
    if ((ops & 15) === 0 && performance.now() >= end) break
    const b = body()
    if (b === STOP) break
    ops++
    bytes += b
  }
  return { ops, bytes }
}

export const deadline = (seconds) => performance.now() + seconds * 1000
