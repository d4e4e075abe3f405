/**
 * `boros/fs/callback`: `node:fs`'s callback API on io_uring, on plain descriptors.
 *
 * `open` gives a number, exactly as `node:fs` does: a descriptor from here works with
 * `node:fs` and the other way round. The functions with an io_uring path (`open`, `close`,
 * `read`, `write`, `readv`, `writev`, `readFile`, `writeFile`, `appendFile`, `stat`, `lstat`,
 * `fstat`, `fsync`, `fdatasync`, `ftruncate`, `rename`, `unlink`, `mkdir`) take it when their
 * arguments have one of the common, valid shapes; every other shape — a wrong type, a value
 * out of range, a bigint position, an `AbortSignal`, `{ bigint: true }` — is handed to
 * `node:fs`'s own function, which validates it and throws (synchronously, with Node's code
 * and message) or serves it. So argument handling is Node's by construction, whatever the
 * Node version. Every other name of `node:fs` is `node:fs`'s own.
 *
 * Callbacks are never called synchronously: ring results arrive in the completion batch (one
 * JS call per batch), errors are Node's (`code`, `errno`, `syscall`, `path`, `dest`), and the
 * arguments are the ones Node passes (`(err, bytesRead, buffer)`, `(err)` on a failed `open`...).
 *
 * The hot path allocates no promise: a read or write of at most `FAST_MAX` bytes is one entry
 * in the shared submission queue and one waiter under a token (`queueRead`/`queueWrite`);
 * larger ones, stats and the rest are one native call each with a token.
 *
 * With `BOROS_BACKEND=fallback` (or where io_uring is unavailable) every function is
 * `node:fs`'s own.
 * The functions live in callback-*.ts by kind (reads, writes, stats, paths, whole files);
 * this module holds `open` and `close` and is the one the rest of boros imports.
 * @module
 */
// biome-ignore-all lint/complexity/noArguments: Node's overloads depend on how many arguments were passed; delegation passes them on unchanged
import type * as NodeFsTypes from 'node:fs'
import { systemError } from '../errors.js'
import { nodeFs } from '../node-fs.js'
import { FILE_KIND_FD } from '../wire.js'
import { parseFlags } from './flags.js'
import { type Callback, NODE_TRACKS_FDS, doneWaiter, forget, isFd, isPath, native, ringUp } from './callback-shared.js'

// ------------------------------------------------------------------ open / close --

/** `fs.open(path[, flags[, mode]], callback)`: io_uring `openat`. */
export function open(path: NodeFsTypes.PathLike, ...rest: unknown[]): void {
  const n = rest.length
  const cb = rest[n - 1]
  if (!NODE_TRACKS_FDS && ringUp() && isPath(path) && typeof cb === 'function' && n <= 3) {
    const flags = n >= 2 ? rest[0] : undefined
    const mode = n === 3 ? rest[1] : undefined
    let f = -1
    if (flags == null) f = 0
    else if (typeof flags === 'number' && (flags | 0) === flags) f = flags
    else if (typeof flags === 'string') {
      try {
        f = parseFlags(flags)
      } catch {}
    }
    const m = mode == null ? 0o666 : typeof mode === 'number' && mode >>> 0 === mode ? mode : -1
    if (f >= 0 && m >= 0) {
      native(
        (b, t) => b.open(path, f, m, t),
        (r) => {
          if (r < 0) return cb(systemError(r, 'open', path))
          forget(r)
          cb(null, r)
        },
        cb as Callback
      )
      return
    }
  }
  if (NODE_TRACKS_FDS && typeof cb === 'function') {
    // node:fs opens it; the number may be one whose route this module remembered.
    const args = [...rest]
    args[n - 1] = (err: Error | null, fd: number) => {
      if (err === null) forget(fd)
      ;(cb as Callback)(err, fd)
    }
    Reflect.apply(nodeFs.open, undefined, [path, ...args])
    return
  }
  Reflect.apply(nodeFs.open, undefined, [path, ...rest])
}

/** `fs.close(fd[, callback])`: io_uring `close`. */
export function close(fd: number, callback?: NodeFsTypes.NoParamCallback): void {
  if (
    !NODE_TRACKS_FDS &&
    ringUp() &&
    isFd(fd) &&
    (typeof callback === 'function' || (callback === undefined && arguments.length < 2))
  ) {
    forget(fd)
    const cb = callback ?? defaultCloseCallback
    native((b, t) => b.close(FILE_KIND_FD, fd, t), doneWaiter(cb, 'close'), cb)
    return
  }
  if (isFd(fd)) forget(fd)
  Reflect.apply(nodeFs.close, undefined, Array.prototype.slice.call(arguments))
}

/** Node's: a close without a callback throws its error (as an uncaught exception). */
function defaultCloseCallback(err: Error | null): void {
  if (err !== null) throw err
}

export { read, readv } from './callback-read.js'
export { write, writev } from './callback-write.js'
export { stat, lstat, fstat, fsync, fdatasync, ftruncate } from './callback-stat.js'
export { rename, unlink, mkdir } from './callback-paths.js'
export { readFile, writeFile, appendFile } from './callback-files.js'
export { RING_FUNCTIONS } from './ring-names.js'
