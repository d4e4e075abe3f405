// Small helpers shared by the orchestrator (run.mjs) and the child (child.mjs).

/** xorshift32: a tiny seeded PRNG. Returns a function yielding uint32 values. */
export function xorshift32(seed) {
  let x = seed >>> 0 || 0x9e3779b9
  return function next() {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

/** Deterministic Fisher–Yates shuffle (in place). */
export function shuffle(array, seed) {
  const rnd = xorshift32(seed)
  for (let i = array.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1)
    ;[array[i], array[j]] = [array[j], array[i]]
  }
  return array
}

/** Fill a buffer with deterministic bytes; returns the PRNG state for chaining. */
export function fillRandom(buf, rnd) {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2)
  for (let i = 0; i < words.length; i++) words[i] = rnd()
  for (let i = words.length * 4; i < buf.length; i++) buf[i] = rnd() & 0xff
}

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

export function fmtBytes(n) {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`
  if (n >= KiB) return `${+(n / KiB).toFixed(1)} KiB`
  return `${n} B`
}

/** 1234567 -> "1,234,567"; fractional numbers keep `digits` digits. */
export function fmtNum(n, digits = 0) {
  if (n == null || !Number.isFinite(n)) return 'n/a'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return 'n/a'
  return r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`
}

export function log(...args) {
  process.stderr.write(args.join(' ') + '\n')
}

/** The line prefix a child uses to hand its JSON result to the parent. */
export const RESULT_MARK = 'BENCH_RESULT '
