// Deterministic data sets, created once under <repo>/.bench-data/ and reused.
//
//  - one big file (1 GiB, or 256 MiB with --quick) of seeded pseudo-random bytes
//  - a tree of small files (10,000 files of 0.5–16 KiB over 100 directories;
//    2,000 files with --quick) described by a manifest.json
//
// Each data set has a sidecar metadata file; if it matches (generator version,
// seed, sizes) the data is reused, otherwise it is regenerated.

import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { xorshift32, fillRandom, fmtBytes, log, MiB } from './util.mjs'

const GENERATOR = 1 // bump to force regeneration when the format changes

// statfs(2) magic numbers of the file systems we care to name.
const FS_MAGIC = {
  0xef53: 'ext4', // also ext2/ext3
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs'
}

/** Returns { type: 'ext4' | 'tmpfs' | ..., magic } for the file system holding dir. */
export function fsType(dir) {
  const magic = fs.statfsSync(dir).type >>> 0
  return { type: FS_MAGIC[magic] ?? `unknown(0x${magic.toString(16)})`, magic }
}

function readMeta(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return null
  }
}

function sameMeta(a, b) {
  return a && JSON.stringify(a) === JSON.stringify(b)
}

/** Ensure the big file exists with the wanted size and seed. Returns its path. */
export function ensureBigFile(dir, size, seed) {
  const file = path.join(dir, `big-${size / MiB}MiB.bin`)
  const metaFile = `${file}.meta.json`
  const want = { generator: GENERATOR, size, seed }
  let st = null
  try {
    st = fs.statSync(file)
  } catch {}
  if (st && st.size === size && sameMeta(readMeta(metaFile), want)) return file

  log(`[data] creating ${file} (${fmtBytes(size)}, seed ${seed}) ...`)
  const t0 = performance.now()
  const rnd = xorshift32(seed)
  const chunk = Buffer.allocUnsafe(4 * MiB)
  const fd = fs.openSync(file, 'w')
  try {
    for (let pos = 0; pos < size; pos += chunk.length) {
      fillRandom(chunk, rnd)
      const n = Math.min(chunk.length, size - pos)
      fs.writeSync(fd, chunk, 0, n, pos)
    }
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.writeFileSync(metaFile, JSON.stringify(want))
  log(`[data] created in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return file
}

/**
 * Ensure the small-file tree exists. Returns the manifest path; the manifest
 * lists { path, size } for every file (absolute paths) in creation order.
 */
export function ensureTree(dir, count, dirs, seed) {
  const root = path.join(dir, `tree-${count}`)
  const manifestFile = path.join(root, 'manifest.json')
  const want = { generator: GENERATOR, count, dirs, seed, minSize: 512, maxSize: 16384 }
  const existing = readMeta(manifestFile)
  if (existing && sameMeta(existing.params, want) && existing.root === root) {
    // Cheap sanity check: every file is there with its size.
    const ok = existing.files.every((f) => {
      try {
        return fs.statSync(f.path).size === f.size
      } catch {
        return false
      }
    })
    if (ok) return manifestFile
  }

  log(`[data] creating ${count} small files in ${dirs} directories under ${root} ...`)
  const t0 = performance.now()
  fs.rmSync(root, { recursive: true, force: true })
  const rnd = xorshift32(seed)
  const buf = Buffer.allocUnsafe(want.maxSize)
  const files = []
  for (let d = 0; d < dirs; d++) fs.mkdirSync(path.join(root, `d${String(d).padStart(3, '0')}`), { recursive: true })
  for (let i = 0; i < count; i++) {
    const size = want.minSize + (rnd() % (want.maxSize - want.minSize + 1))
    const d = i % dirs
    const p = path.join(root, `d${String(d).padStart(3, '0')}`, `f${String(i).padStart(5, '0')}.bin`)
    const view = buf.subarray(0, size)
    fillRandom(view, rnd)
    fs.writeFileSync(p, view)
    files.push({ path: p, size })
  }
  fs.writeFileSync(manifestFile, JSON.stringify({ params: want, root, files }))
  log(`[data] created in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return manifestFile
}

/** Read a file once so that it sits in the page cache. Returns GB/s seen. */
export function warmFile(file) {
  const t0 = performance.now()
  const buf = Buffer.allocUnsafe(4 * MiB)
  const fd = fs.openSync(file, 'r')
  let total = 0
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, total)
      if (n === 0) break
      total += n
    }
  } finally {
    fs.closeSync(fd)
  }
  const s = (performance.now() - t0) / 1000
  return { bytes: total, seconds: s, gbPerSec: total / s / 1e9 }
}

/** Read (and stat) every file of the tree once. */
export function warmTree(manifestFile) {
  const t0 = performance.now()
  const { files } = JSON.parse(fs.readFileSync(manifestFile, 'utf8'))
  let bytes = 0
  for (const f of files) {
    fs.statSync(f.path)
    bytes += fs.readFileSync(f.path).length
  }
  return { files: files.length, bytes, seconds: (performance.now() - t0) / 1000 }
}
