// Which route a FileHandle write should take, per file system and size: sequential awaited
// `fh.write(buf, 0, size, pos)` (one write in flight, as the `seqwrite` workload), each variant
// in its own child process (the route is fixed per process by BOROS_WRITE_ROUTE), rounds
// interleaved, median time per write. No fsync: this is the cost the caller waits for, page cache
// included; the disk's write-back is the same for every variant and is what `seqwrite` adds.
//
//   node bench/extra/write-route.mjs [--rounds N] [--mib M] [--sizes 4,16,64,128,1024] [--dir PATH]...
//
// Variants: node:fs/promises, boros default (the route writeRoute() picks), boros forced to the
// ring, to the ring with IOSQE_ASYNC, to libuv's threadpool. `--dir` may be repeated (ext4 and
// /dev/shm, say). Not a timed test: figures for docs/files-internals.md ("Writes: the route").
// Exits non-zero when a variant could not run.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SELF = fileURLToPath(import.meta.url)

if (process.argv[2] === '--child') {
  const [, , , api, file, size, total] = process.argv
  const mod = api === 'node' ? await import('node:fs/promises') : await import(path.join(REPO, 'dist/fs/index.js'))
  const block = Number(size)
  const buf = Buffer.alloc(block, 0x5a)
  const n = Math.max(8, Math.floor(Number(total) / block))
  const fh = await mod.open(file, 'w')
  // A few writes first so the JIT and the route are settled.
  for (let i = 0; i < 4; i++) await fh.write(buf, 0, block, i * block)
  const t0 = process.hrtime.bigint()
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) await fh.write(buf, 0, block, i * block)
  const ns = Number(process.hrtime.bigint() - t0)
  const c = process.cpuUsage(c0)
  await fh.close()
  process.stdout.write(JSON.stringify({ usPerWrite: ns / 1000 / n, cpuUs: (c.user + c.system) / n }))
  process.exit(0)
}

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const rounds = Number(opt('--rounds', 5))
const mib = Number(opt('--mib', 64))
const sizes = opt('--sizes', '4,16,64,128,1024')
  .split(',')
  .map((k) => Number(k) * 1024)
const dirs = argv.flatMap((a, i) => (a === '--dir' ? [path.resolve(argv[i + 1])] : []))
if (dirs.length === 0) dirs.push(path.join(REPO, '.bench-data'))
if (!fs.existsSync(path.join(REPO, 'dist/fs/index.js'))) {
  console.error('boros is not built: npm run build')
  process.exit(1)
}

const VARIANTS = [
  ['node:fs/promises', 'node', undefined],
  ['boros (default route)', 'boros', undefined],
  ['boros ring', 'boros', 'ring'],
  ['boros ring+ASYNC', 'boros', 'async'],
  ['boros threadpool', 'boros', 'pool']
]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
let failed = false

for (const dir of dirs) {
  fs.mkdirSync(dir, { recursive: true })
  const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim()
  console.log(`\n${dir} (${fsType}), ${mib} MiB per run, ${rounds} rounds, median µs per awaited write (CPU µs)`)
  console.log(`| size | ${VARIANTS.map((v) => v[0]).join(' | ')} |`)
  console.log(`|---|${VARIANTS.map(() => '---').join('|')}|`)
  for (const size of sizes) {
    const times = VARIANTS.map(() => [])
    const cpus = VARIANTS.map(() => [])
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? VARIANTS.map((_, i) => i) : VARIANTS.map((_, i) => VARIANTS.length - 1 - i)
      for (const i of order) {
        const [, api, route] = VARIANTS[i]
        const file = path.join(dir, `write-route-${process.pid}.bin`)
        fs.rmSync(file, { force: true })
        spawnSync('sync')
        const env = { ...process.env, UV_USE_IO_URING: '0' }
        delete env.BOROS_WRITE_ROUTE
        if (route) env.BOROS_WRITE_ROUTE = route
        const out = spawnSync(process.execPath, [SELF, '--child', api, file, String(size), String(mib * 1024 * 1024)], {
          env,
          encoding: 'utf8'
        })
        fs.rmSync(file, { force: true })
        if (out.status !== 0) {
          console.error(`${VARIANTS[i][0]} failed: ${out.stderr}`)
          failed = true
          continue
        }
        const res = JSON.parse(out.stdout)
        times[i].push(res.usPerWrite)
        cpus[i].push(res.cpuUs)
      }
    }
    const base = median(times[0])
    const cells = VARIANTS.map((_, i) => {
      const t = median(times[i])
      const ratio = i === 0 ? '' : `, ${(base / t).toFixed(2)}x`
      return `${t.toFixed(1)} (${median(cpus[i]).toFixed(1)}${ratio})`
    })
    console.log(`| ${size / 1024} KiB | ${cells.join(' | ')} |`)
  }
}
console.log(
  '\nratio: fs/promises time / this time (>1 = faster than fs/promises). Shared machine: load',
  fs.readFileSync('/proc/loadavg', 'utf8').trim()
)
process.exit(failed ? 1 : 0)
