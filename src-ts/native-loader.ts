/**
 * Loads the native addon. On Linux with glibc (the `-gnu` builds) it requires the platform's
 * `.node` file directly: the file next to the package (a local build), else the
 * `boros-linux-<arch>-gnu` package, as napi-rs's generated loader (`index.js`) would. That
 * loader is ~40 KB of source whose text and closures stay in the JavaScript heap for the life
 * of the process (~80 KiB after start-up, docs/net.md "Start-up memory"), for every platform
 * napi-rs knows. Everything else goes through it: another platform or libc, napi-rs's
 * environment variables (`NAPI_RS_NATIVE_LIBRARY_PATH`, `NAPI_RS_ENFORCE_VERSION_CHECK`,
 * `NAPI_RS_FORCE_WASI`), and any failure of the direct path, so that a missing or broken
 * binary is reported by napi-rs's loader with every attempt in its cause chain (what
 * `boros doctor` prints).
 * Not part of the public API.
 * @module
 */
import { readFileSync } from 'node:fs'
import type * as Native from '../index.js'

export type NativeBinding = typeof Native

/** The `-gnu` builds a direct load may pick, by `process.arch` (package.json "napi.targets"). */
const GNU_TARGETS: Readonly<Record<string, string>> = { x64: 'linux-x64-gnu', arm64: 'linux-arm64-gnu' }

/** The first check of napi-rs's loader: is the C library glibc (`ldd` is not musl's)? */
function isGlibc(): boolean {
  try {
    return !readFileSync('/usr/bin/ldd', 'latin1').includes('musl')
  } catch {
    return false // unknown: napi-rs's loader asks further
  }
}

/** The `-gnu` target to load directly, or undefined for napi-rs's loader. */
export function directTarget(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return undefined
  if (env.NAPI_RS_NATIVE_LIBRARY_PATH || env.NAPI_RS_FORCE_WASI) return undefined
  const enforce = env.NAPI_RS_ENFORCE_VERSION_CHECK
  if (enforce && enforce !== '0') return undefined
  const target = GNU_TARGETS[process.arch]
  return target !== undefined && isGlibc() ? target : undefined
}

/** The addon, or the error napi-rs's loader throws (`Cannot find native binding`, with causes). */
export function loadNative(): NativeBinding {
  const target = directTarget()
  if (target !== undefined) {
    for (const spec of [`../boros.${target}.node`, `boros-${target}`]) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(spec) as NativeBinding
      } catch (e) {
        // Not there: try the next place. Any other failure: napi-rs's loader tries again and reports.
        if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') break
      }
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../index.js') as NativeBinding
}
