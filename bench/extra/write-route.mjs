// Which route a FileHandle write should take, per file system and size: sequential awaited
// `fh.write(buf, 0, size, pos)` (one write in flight, as the `seqwrite` workload) over a file
// laid out once and kept in the page cache, as `seqwrite` does (new page-cache pages cost host
// faults at random on this project's VMs: docs/files-internals.md); `--new-file` writes a new
// file for every batch instead. The variants
// run in one process, batch after batch in alternating order (the route is switched between
// batches), so a load swing of the shared machine hits all of them; each figure is the median of
// the batches. No fsync: this is what the caller waits for; the disk's write-back is the same for
// every variant and is what `seqwrite` adds on top.
//
//   node bench/extra/write-route.mjs [--batches N] [--mib M] [--sizes 4,64,128,512,1024] [--dir PATH]...
//
// Variants: node:fs/promises, boros with the route writeRoute() picks (as it comes, and with the
// write-behind of src-ts/fs/write-behind.ts forced on), boros forced to the ring,
// to the ring with IOSQE_ASYNC, to libuv's threadpool; and fs.writeSync as the floor. `--dir` may be repeated (ext4 and /dev/shm,
// say). Not a timed test: figures for docs/files-internals.md ("Writes: the route"). Exits
// non-zero when a variant could not run.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const batches = Number(opt('--batches', 15))
const mib = Number(opt('--mib', 8))
const sizes = opt('--sizes', '4,64,128,512,1024')
  .split(',')
  .map((k) => Number(k) * 1024)
const newFile = argv.includes('--new-file')
const dirs = argv.flatMap((a, i) => (a === '--dir' ? [path.resolve(argv[i + 1])] : []))
if (dirs.length === 0) dirs.push(path.join(REPO, '.bench-data'))

let boros
let route
let behind
try {
  boros = await import(path.join(REPO, 'dist/fs/index.js'))
  route = await import(path.join(REPO, 'dist/fs/descriptor-route.js'))
  behind = await import(path.join(REPO, 'dist/fs/write-behind.js'))
} catch (e) {
  console.error(`boros is not built (${e.message}): npm run build`)
  process.exit(1)
}

const VARIANTS = [
  ['node:fs/promises', fsp, undefined],
  ['boros (default)', boros, undefined],
  ['boros, write-behind always', boros, undefined, true],
  ['boros ring', boros, 'ring'],
  ['boros ring+ASYNC', boros, 'async'],
  ['boros threadpool', boros, 'pool'],
  // The floor: the same write done by the JS thread itself (blocks the event loop; not a route).
  ['fs.writeSync', 'sync', undefined]
]

/** `fs.writeSync` behind the FileHandle calls the batches use. */
function syncHandle(file) {
  const fd = fs.openSync(file, newFile ? 'w' : 'r+')
  return {
    write: async (buf, off, len, pos) => ({ bytesWritten: fs.writeSync(fd, buf, off, len, pos) }),
    close: async () => fs.closeSync(fd)
  }
}
/** The file every batch overwrites: `bytes` of zeroes, synced, so its pages stay cached and clean. */
function layOut(file, bytes) {
  const fd = fs.openSync(file, 'w')
  const zero = Buffer.alloc(1024 * 1024)
  for (let at = 0; at < bytes; at += zero.length) fs.writeSync(fd, zero, 0, Math.min(zero.length, bytes - at), at)
  fs.fsyncSync(fd)
  fs.closeSync(fd)
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** One batch: `total` bytes in awaited writes of `size` into `fh`, from offset 0. µs per write. */
async function batch(fh, buf, size, total) {
  const n = Math.max(8, Math.floor(total / size))
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const { bytesWritten } = await fh.write(buf, 0, size, i * size)
    if (bytesWritten !== size) throw new Error(`short write: ${bytesWritten} of ${size}`)
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

for (const dir of dirs) {
  fs.mkdirSync(dir, { recursive: true })
  const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim()
  console.log(
    `\n${dir} (${fsType}), Node ${process.version}, ${mib} MiB per batch, ${batches} batches per variant: median µs per awaited write (x: fs/promises time / this)`
  )
  console.log(`| size | ${VARIANTS.map((v) => v[0]).join(' | ')} |`)
  console.log(`|---|${VARIANTS.map(() => '---').join('|')}|`)
  for (const size of sizes) {
    const buf = Buffer.alloc(size, 0x5a)
    const times = VARIANTS.map(() => [])
    for (let b = -1; b < batches; b++) {
      const order = VARIANTS.map((_, i) => i)
      if (b % 2 === 1) order.reverse()
      for (const i of order) {
        // The laid-out file (or with --new-file a new one per batch), opened outside the timing.
        const [, mod, forced, writeBehind] = VARIANTS[i]
        const file = path.join(dir, `write-route-${process.pid}.bin`)
        if (!newFile && b === -1 && i === order[0]) layOut(file, mib * 1024 * 1024)
        const fh = mod === 'sync' ? syncHandle(file) : await mod.open(file, newFile ? 'w' : 'r+')
        route._forceWriteRoute(forced)
        behind._forceWriteBehind(writeBehind)
        const us = await batch(fh, buf, size, mib * 1024 * 1024)
        behind._forceWriteBehind(undefined)
        route._forceWriteRoute(undefined)
        await fh.close()
        if (newFile) fs.rmSync(file)
        if (b >= 0) times[i].push(us) // batch -1 warms every variant up
      }
    }
    const base = median(times[0])
    const cells = times.map(
      (ts, i) => `${median(ts).toFixed(1)}${i === 0 ? '' : ` (${(base / median(ts)).toFixed(2)}x)`}`
    )
    console.log(`| ${size / 1024} KiB | ${cells.join(' | ')} |`)
  }
  fs.rmSync(path.join(dir, `write-route-${process.pid}.bin`), { force: true })
}
console.log(
  `\nShared machine: load average ${fs.readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ')}`
)
