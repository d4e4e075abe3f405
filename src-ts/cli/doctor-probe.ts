/**
 * What `boros doctor` reads about this machine and process, each without the addon: versions,
 * /proc files (memlock, io_uring_disabled, seccomp), the libc and the JS runtime.
 * @module
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DoctorReport } from './doctor-report.js'

export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** `[major, minor]` of a version like `6.18.44-fc`, `v20.19.0` or `6.1`. */
export function majorMinor(v: string): [number, number] | null {
  const m = /^v?(\d+)\.(\d+)/.exec(v)
  return m === null ? null : [Number(m[1]), Number(m[2])]
}

/** Whether version `v` is at least `min` (major.minor); `null` if `v` does not parse. */
export function atLeast(v: string, min: string): boolean | null {
  const a = majorMinor(v)
  const b = majorMinor(min)
  if (a === null || b === null) return null
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1]
}

export function firstLine(s: unknown): string {
  return String(s).split('\n')[0] ?? ''
}

/** The load error and its cause chain (the napi loader chains one error per attempt). */
export function errorChain(e: unknown): string[] {
  const out: string[] = []
  const seen = new Set<unknown>()
  let cur: unknown = e
  while (cur != null && !seen.has(cur) && out.length < 12) {
    seen.add(cur)
    out.push(firstLine(cur instanceof Error ? cur.message : cur))
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined
  }
  return out
}

/** `'musl'` or `'gnu'` (glibc), as the napi loader decides. */
export function libc(): string {
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    if (report?.header?.glibcVersionRuntime !== undefined) return 'gnu'
  } catch {
    // no report: look at ldd below
  }
  const ldd = readText('/usr/bin/ldd')
  return ldd?.includes('musl') ? 'musl' : 'gnu'
}

/** Which JS runtime this is. */
export function jsRuntime(): string {
  const v = process.versions as Record<string, string | undefined>
  if (v.bun !== undefined) return 'bun'
  if (v.deno !== undefined || 'Deno' in globalThis) return 'deno'
  return 'node'
}

/** Soft and hard "Max locked memory" from /proc/self/limits. */
export function readMemlock(limits = readText('/proc/self/limits')): DoctorReport['memlock'] {
  if (limits === null) return null
  const line = limits.split('\n').find((l) => l.startsWith('Max locked memory'))
  if (line === undefined) return null
  const parts = line.slice('Max locked memory'.length).trim().split(/\s+/)
  const num = (s: string | undefined): number | null => (s === undefined || s === 'unlimited' ? null : Number(s))
  return { soft: num(parts[0]), hard: num(parts[1]) }
}

export function readIoUringDisabled(): number | null {
  const t = readText('/proc/sys/kernel/io_uring_disabled')
  return t === null ? null : Number(t.trim())
}

export function readSeccomp(): boolean | null {
  const t = readText('/proc/self/status')
  const m = t === null ? null : /^Seccomp:\s*(\d+)/m.exec(t)
  return m === null ? null : m[1] === '2'
}

export function borosVersion(): string | null {
  const t = readText(join(__dirname, '..', '..', 'package.json'))
  try {
    return t === null ? null : ((JSON.parse(t) as { version?: string }).version ?? null)
  } catch {
    return null
  }
}

/** Runs `fn` without letting it print process warnings (the fallback warns once). */
export function quietly<T>(fn: () => T): T {
  const orig = process.emitWarning
  process.emitWarning = (() => {}) as typeof process.emitWarning
  try {
    return fn()
  } finally {
    process.emitWarning = orig
  }
}
