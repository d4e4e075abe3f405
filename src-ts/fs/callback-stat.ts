/**
 * The callback API's stats and descriptor calls: `fs.stat`, `fs.lstat`, `fs.fstat`, `fs.fsync`,
 * `fs.fdatasync`, `fs.ftruncate` on the ring (see ring-callbacks.ts for which shapes take it;
 * every other one is node:fs's own).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/complexity/noArguments: Node's overloads depend on how many arguments were passed; delegation passes them on unchanged
import type * as NodeFsTypes from 'node:fs'
import { systemError } from '../errors.js'
import { nodeFs } from '../node-fs.js'
import { FILE_KIND_FD, STAT_FIELDS } from '../wire.js'
import { hasOp } from './op-support.js'
import { toStats } from './stats.js'
import { type Callback, doneWaiter, isFd, isPath, native, ringUp, syncedFd } from './callback-shared.js'

/** Stat records waiting for reuse (toStats copies out of them). */
const records: Float64Array[] = []

function statOp(path: string | null, fd: number, follow: boolean, syscall: string, cb: Callback): void {
  const out = records.pop() ?? new Float64Array(STAT_FIELDS)
  native(
    (b, t) => b.statx(path, fd, follow, out, t),
    (r) => {
      if (r < 0) {
        records.push(out)
        return cb(systemError(r, syscall, path ?? undefined))
      }
      const st = toStats(out)
      records.push(out)
      cb(null, st)
    },
    cb
  )
}

/** A stat options argument the ring serves: none, or one without `bigint: true` or `throwIfNoEntry`. */
function plainStatOptions(options: unknown): boolean {
  // Node reads `options.bigint` (so `null` throws there: node:fs serves it) and hands it to
  // C++, which takes only `true` for bigints. `throwIfNoEntry` (Node 25.7+/24.22 on fs.stat):
  // Node's own function answers, as the running Node does.
  return (
    options === undefined ||
    (options !== null &&
      typeof options === 'object' &&
      (options as { bigint?: unknown }).bigint !== true &&
      (options as { throwIfNoEntry?: unknown }).throwIfNoEntry === undefined &&
      // Node 24 runs getOptions (encoding checked) and honours a signal: node:fs serves those.
      (options as { signal?: unknown }).signal === undefined &&
      (options as { encoding?: unknown }).encoding === undefined)
  )
}

function statCall(follow: boolean, name: 'stat' | 'lstat', args: IArguments): void {
  const [path, options, callback] = args
  const cb = typeof options === 'function' ? options : callback
  if (
    ringUp() &&
    args.length <= 3 &&
    typeof cb === 'function' &&
    isPath(path) &&
    (typeof options === 'function' || plainStatOptions(options))
  ) {
    statOp(path, -1, follow, name, cb as Callback)
    return
  }
  Reflect.apply(nodeFs[name], undefined, Array.prototype.slice.call(args))
}

/** `fs.stat(path[, options], callback)`: io_uring `statx` (`{ bigint: true }`: node:fs). */
export function stat(_path: NodeFsTypes.PathLike, _options?: unknown, _callback?: unknown): void {
  statCall(true, 'stat', arguments)
}

/** `fs.lstat(path[, options], callback)`: io_uring `statx(AT_SYMLINK_NOFOLLOW)`. */
export function lstat(_path: NodeFsTypes.PathLike, _options?: unknown, _callback?: unknown): void {
  statCall(false, 'lstat', arguments)
}

/** `fs.fstat(fd[, options], callback)`: io_uring `statx(AT_EMPTY_PATH)`. */
export function fstat(fd: number, options?: unknown, callback?: unknown): void {
  const cb = typeof options === 'function' ? options : callback
  if (
    ringUp() &&
    arguments.length <= 3 &&
    isFd(fd) &&
    typeof cb === 'function' &&
    (typeof options === 'function' || plainStatOptions(options))
  ) {
    statOp(null, fd, true, 'fstat', cb as Callback)
    return
  }
  Reflect.apply(nodeFs.fstat, undefined, Array.prototype.slice.call(arguments))
}

// ------------------------------------------------------------------ descriptors --

function syncCall(datasync: boolean, fd: number, cb: unknown, args: IArguments): void {
  if (ringUp() && args.length === 2 && isFd(fd) && typeof cb === 'function') {
    const name = datasync ? 'fdatasync' : 'fsync'
    syncedFd(fd)
    native((b, t) => b.fsync(FILE_KIND_FD, fd, datasync, t), doneWaiter(cb as Callback, name), cb as Callback)
    return
  }
  Reflect.apply(datasync ? nodeFs.fdatasync : nodeFs.fsync, undefined, Array.prototype.slice.call(args))
}

/** `fs.fsync(fd, callback)`: io_uring `fsync`. */
export function fsync(fd: number, callback: NodeFsTypes.NoParamCallback): void {
  syncCall(false, fd, callback, arguments)
}

/** `fs.fdatasync(fd, callback)`: io_uring `fsync(IORING_FSYNC_DATASYNC)`. */
export function fdatasync(fd: number, callback: NodeFsTypes.NoParamCallback): void {
  syncCall(true, fd, callback, arguments)
}

/** `fs.ftruncate(fd[, len], callback)`: io_uring `ftruncate` (Linux 6.9; node:fs before). */
export function ftruncate(fd: number, len?: unknown, callback?: unknown): void {
  const cb = typeof len === 'function' ? len : callback
  const size = typeof len === 'function' || (len === undefined && arguments.length === 3) ? 0 : len
  if (
    ringUp() &&
    arguments.length <= 3 &&
    isFd(fd) &&
    typeof cb === 'function' &&
    typeof size === 'number' &&
    Number.isSafeInteger(size) &&
    hasOp('ftruncate')
  ) {
    const n = Math.max(0, size)
    native((b, t) => b.ftruncate(FILE_KIND_FD, fd, n, t), doneWaiter(cb as Callback, 'ftruncate'), cb as Callback)
    return
  }
  Reflect.apply(nodeFs.ftruncate, undefined, Array.prototype.slice.call(arguments))
}
