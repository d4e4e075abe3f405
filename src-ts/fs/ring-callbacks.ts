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
 * @module
 */
// biome-ignore-all lint/complexity/noArguments: Node's overloads depend on how many arguments were passed; delegation passes them on unchanged
// biome-ignore-all lint/suspicious/noExplicitAny: callbacks and option bags of any shape are checked at run time
import type * as NodeFsTypes from 'node:fs'
import { FAST_MAX, dropToken, queueRead, queueWrite, ring, takeToken, usesRing } from '../binding.js'
import type { NativeBinding } from '../binding.js'
import { systemError } from '../errors.js'
import { fdRef, type Fd } from '../file-ref.js'
import { nodeFs } from '../node-fs.js'
import { BOUNCE_MAX, FILE_KIND_FD, STAT_FIELDS } from '../wire.js'
import { parseFlags } from './flags.js'
import { appendFile as appendFileP, readFile as readFileP, writeFile as writeFileP } from './index.js'
import { mkdir as mkdirP } from './paths.js'
import { learnRoute, RING, SYNC, type Route } from './route.js'
import { hasOp } from './routes.js'
import { toStats } from './stats.js'
import { IOV_MAX } from '../errno.js'
import { isMainThread } from 'node:worker_threads'

/**
 * In a worker, Node keeps the set of raw descriptors its `fs.open` opened ("unmanaged fds",
 * Worker option `trackUnmanagedFds`, on by default) and closes what is left of them when the
 * worker ends; its `fs.close` of a number it did not open warns ("closed but not opened in
 * unmanaged mode"), and one it opened that something else closed is closed again at the end —
 * by then maybe another thread's file under a reused number. So in a worker the callback API's
 * `open` and `close` are node:fs's own (the reads and writes on the descriptor stay on the ring):
 * Node's set stays exact, whichever API opened or closes a descriptor.
 */
const NODE_TRACKS_FDS = !isMainThread

type Callback = (...args: any[]) => void
type Native = NativeBinding

const INT32_MAX = 2 ** 31 - 1

/** `null`: the ring cannot be used on this thread (every call is node:fs's). */
let onRing: boolean | undefined
function ringUp(): boolean {
  onRing ??= usesRing()
  return onRing
}

/** A valid descriptor as Node's `getValidatedFd` accepts it (an int32 >= 0). */
function isFd(fd: unknown): fd is number {
  return typeof fd === 'number' && (fd | 0) === fd && fd >= 0
}

/** A path Node would take as is: a string without NUL bytes. */
function isPath(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && !p.includes('\u0000')
}

/** A position Node takes for a read or write: `null`/`undefined`/-1 (current position) or an integer. -2: not one. */
function positionOf(position: unknown, length: number): number {
  if (position == null) return -1
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < -1) return -2
  return position + length > Number.MAX_SAFE_INTEGER ? -2 : position
}

// Per descriptor: its FileRef (one object per number, not per op) and its read route.
const refs: Array<Fd | undefined> = []
const routes: Array<Route | undefined> = []

function refOf(fd: number): Fd {
  let r = refs[fd]
  if (r === undefined) {
    r = fdRef(fd)
    refs[fd] = r
  }
  return r
}

/**
 * The route of `fd` (learned once, `fstatfs`; see route.ts), or undefined when the descriptor
 * is not open (the ring then answers EBADF as the system call would). Forgotten when this
 * module closes or opens that number; a descriptor closed and reopened behind this module's
 * back (by `node:fs`) keeps the route its number had: only the speed can differ then, except
 * that an `O_DIRECT` descriptor must be learned as one (its reads are `node:fs`'s).
 */
function routeOf(fd: number): Route | undefined {
  let r = routes[fd]
  if (r === undefined) {
    try {
      r = learnRoute(fd)
    } catch {
      return undefined
    }
    routes[fd] = r
  }
  return r
}

function forget(fd: number): void {
  routes[fd] = undefined
}

/** Calls `cb` in a later turn, as Node's callbacks for results known at once. */
function later(cb: Callback, ...args: unknown[]): void {
  process.nextTick(() => cb(...args))
}

/**
 * Queues one native op with a token whose waiter gets the raw result. A native call that
 * throws (it should not, after the checks here) reports its error through the callback.
 */
function native(start: (b: Native, token: number) => number, waiter: (r: number) => void, cb: Callback): void {
  const token = takeToken(waiter)
  try {
    start(ring(), token)
  } catch (e) {
    dropToken(token)
    later(cb, e)
  }
}

/** A waiter for ops whose callback gets `(err)` or `(null)`. */
function doneWaiter(cb: Callback, syscall: string, path?: string, dest?: string): (r: number) => void {
  return (r) => (r < 0 ? cb(systemError(r, syscall, path, dest)) : cb(null))
}

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

// ------------------------------------------------------------------ read --

/**
 * One read on the ring, `cb(err, bytesRead, buffer)` as Node calls it. Returns false (doing
 * nothing) when `fd`'s reads are not the ring's (tmpfs, procfs, `O_DIRECT`: node:fs then).
 */
function ringRead(
  fd: number,
  buffer: NodeJS.ArrayBufferView,
  off: number,
  len: number,
  pos: number,
  cb: Callback
): boolean {
  const route = routeOf(fd)
  if (route !== undefined && (route.kind !== RING || route.oDirect)) {
    if (route.kind === SYNC && !route.oDirect) {
      // tmpfs: a read is a memory copy that never waits (see route.ts); the callback still
      // comes in a later turn.
      let n: number
      try {
        n = nodeFs.readSync(fd, buffer, off, len, pos < 0 ? null : pos)
      } catch (e) {
        later(cb, e, 0, buffer)
        return true
      }
      later(cb, null, n, buffer)
      return true
    }
    return false
  }
  const waiter = (r: number): void => {
    if (r < 0) cb(systemError(r, 'read'), 0, buffer)
    else cb(null, r, buffer)
  }
  if (len <= FAST_MAX && queueRead(refOf(fd), buffer, off, len, pos, waiter)) return true
  const b = ring()
  if (len > FAST_MAX && b.isOwned(buffer)) {
    // Natively owned memory (`alignedBuffer`): the kernel reads into it in place, no bounce.
    native(
      (n, t) => n.readOwned(FILE_KIND_FD, fd, buffer as Buffer, off, len, pos, t),
      waiter,
      (e: unknown) => cb(e, 0, buffer)
    )
    return true
  }
  if (len > BOUNCE_MAX) return false
  native(
    (b, t) => b.read(FILE_KIND_FD, fd, buffer, off, len, pos, t),
    waiter,
    (e: unknown) => cb(e, 0, buffer)
  )
  return true
}

/**
 * `fs.read(fd, buffer, offset, length, position, callback)`, `fs.read(fd, buffer, options,
 * callback)`, `fs.read(fd, options, callback)`, `fs.read(fd, callback)`: the callback gets
 * `(err, bytesRead, buffer)`.
 */
export function read(fd: number, ...rest: unknown[]): void {
  const n = rest.length
  if (ringUp() && isFd(fd)) {
    let buffer: unknown
    let offset: unknown
    let length: unknown
    let position: unknown
    let cb: unknown
    let ok = true
    if (n === 5) {
      ;[buffer, offset, length, position, cb] = rest
    } else if (n <= 3) {
      // Node's forms with an options object (or none); only plain, fully valid ones here.
      let params: any
      if (n === 3) {
        buffer = rest[0]
        params = rest[1]
        cb = rest[2]
        ok = params == null || (typeof params === 'object' && !Array.isArray(params))
      } else if (n === 2) {
        cb = rest[1]
        if (ArrayBuffer.isView(rest[0])) buffer = rest[0]
        else {
          params = rest[0]
          ok = params == null || (typeof params === 'object' && !Array.isArray(params))
          // Node: \`{ buffer = Buffer.alloc(16384) } = params\` (a default for undefined only).
          buffer = params?.buffer === undefined ? Buffer.alloc(16384) : params.buffer
        }
      } else if (n === 1) {
        cb = rest[0]
        buffer = Buffer.alloc(16384)
      } else ok = false
      if (ok && ArrayBuffer.isView(buffer)) {
        // Node destructures with defaults: they apply to undefined only (null stays null).
        offset = params?.offset === undefined ? 0 : params.offset
        length = params?.length === undefined ? buffer.byteLength - (offset as number) : params.length
        position = params?.position === undefined ? null : params.position
      }
    } else ok = false
    if (ok && typeof cb === 'function' && ArrayBuffer.isView(buffer)) {
      const off = offset == null ? 0 : offset
      const size = buffer.byteLength
      if (
        typeof off === 'number' &&
        typeof length === 'number' &&
        Number.isInteger(off) &&
        Number.isInteger(length) &&
        length > 0 &&
        off >= 0 &&
        length <= INT32_MAX &&
        off + length <= size
      ) {
        const pos = positionOf(position, length)
        if (pos >= -1 && ringRead(fd, buffer as NodeJS.ArrayBufferView, off, length, pos, cb as Callback)) return
      }
    }
  }
  Reflect.apply(nodeFs.read, undefined, [fd, ...rest])
}

/** The `[position, ]callback` tail of `readv`/`writev`: the callback is `undefined` when the shape is not Node's plain one. */
function vectorCall(rest: unknown[]): { cb: Callback | undefined; position: unknown } {
  const cb = rest[rest.length - 1]
  const ok = rest.length >= 1 && rest.length <= 2 && typeof cb === 'function'
  return { cb: ok ? (cb as Callback) : undefined, position: rest.length === 2 ? rest[0] : null }
}

/** Whether a `readv`/`writev` of `buffers` on `fd` may go to the ring (the rest is Node's own). */
function vectorOnRing(fd: unknown, buffers: unknown): buffers is readonly NodeJS.ArrayBufferView[] {
  return ringUp() && isFd(fd) && Array.isArray(buffers) && buffers.length > 0
}

/** `fs.readv(fd, buffers[, position], callback)`: one ring read per buffer, in order. */
export function readv(fd: number, buffers: readonly NodeJS.ArrayBufferView[], ...rest: unknown[]): void {
  const { cb, position } = vectorCall(rest)
  if (
    cb !== undefined &&
    vectorOnRing(fd, buffers) &&
    buffers.every((b) => ArrayBuffer.isView(b) && b.byteLength <= BOUNCE_MAX)
  ) {
    const route = routeOf(fd)
    // Node: a position that is not a number means the current position.
    const start = typeof position === 'number' ? positionOf(position, 0) : -1
    if ((route === undefined || (route.kind === RING && !route.oDirect)) && start >= -1) {
      let total = 0
      let i = 0
      let pos = start
      const step = (err: Error | null, got: number): void => {
        if (err !== null) {
          cb(err, 0, buffers)
          return
        }
        total += got
        if (pos >= 0) pos += got
        if (got < buffers[i]!.byteLength || ++i === buffers.length) {
          cb(null, total, buffers)
          return
        }
        next()
      }
      const next = (): void => {
        const b = buffers[i]!
        if (b.byteLength === 0) {
          step(null, 0)
          return
        }
        ringRead(fd, b, 0, b.byteLength, pos, step)
      }
      if (buffers[0]!.byteLength === 0) later(step, null, 0)
      else next()
      return
    }
  }
  Reflect.apply(nodeFs.readv, undefined, [fd, buffers, ...rest])
}

// ------------------------------------------------------------------ write --

/** One write on the ring; `cb(err, written, data)` as Node calls it (`data`: the caller's). */
function ringWrite(
  fd: number,
  buffer: NodeJS.ArrayBufferView,
  off: number,
  len: number,
  pos: number,
  data: unknown,
  cb: Callback
): boolean {
  const route = routeOf(fd)
  if (route?.oDirect) return false
  const waiter = (r: number): void => {
    if (r < 0) cb(systemError(r, 'write'), 0, data)
    else cb(null, r, data)
  }
  if (len <= FAST_MAX && queueWrite(refOf(fd), buffer, off, len, pos, waiter)) return true
  native(
    (b, t) => b.write(FILE_KIND_FD, fd, buffer, off, len, pos, t),
    waiter,
    (e: unknown) => cb(e, 0, data)
  )
  return true
}

/**
 * `fs.write(fd, buffer, offset[, length[, position]], callback)`, `fs.write(fd, buffer[,
 * options], callback)`, `fs.write(fd, string[, position[, encoding]], callback)`: the callback
 * gets `(err, bytesWritten, buffer or string)`.
 */
export function write(fd: number, data: unknown, ...rest: unknown[]): void {
  if (ringUp() && isFd(fd)) {
    let [offset, length, position, callback] = rest
    if (ArrayBuffer.isView(data)) {
      // Node: the callback is the first of these that is truthy.
      const cb = callback || position || length || offset
      if (typeof cb === 'function') {
        let ok = true
        if (offset !== null && typeof offset === 'object') {
          const o = offset as { offset?: unknown; length?: unknown; position?: unknown }
          offset = o.offset ?? 0
          length = o.length ?? data.byteLength - (offset as number)
          position = o.position ?? null
        }
        if (offset == null || typeof offset === 'function') offset = 0
        else ok = typeof offset === 'number' && Number.isInteger(offset) && offset >= 0
        if (typeof length !== 'number') length = data.byteLength - (offset as number)
        if (typeof position !== 'number') position = null
        const off = offset as number
        const len = length as number
        if (ok && Number.isInteger(len) && len >= 0 && len <= INT32_MAX && off + len <= data.byteLength) {
          const pos = positionOf(position, len)
          if (pos >= -1 && ringWrite(fd, data as NodeJS.ArrayBufferView, off, len, pos, data, cb as Callback)) return
        }
      }
    } else if (typeof data === 'string') {
      // Node: fs.write(fd, string[, position[, encoding]], callback)
      let pos: unknown = offset
      let encoding: unknown = length
      let cb: unknown = position
      if (typeof cb !== 'function') {
        if (typeof offset === 'function') {
          cb = offset
          pos = null
        } else cb = length
        encoding = 'utf8'
      }
      if (
        typeof cb === 'function' &&
        (encoding == null || (typeof encoding === 'string' && Buffer.isEncoding(encoding))) &&
        !(encoding === 'hex' && data.length % 2 !== 0)
      ) {
        const p = typeof pos === 'number' ? positionOf(pos, 0) : -1
        if (p >= -1) {
          const buf = Buffer.from(data, (encoding ?? 'utf8') as BufferEncoding)
          if (ringWrite(fd, buf, 0, buf.byteLength, p, data, cb as Callback)) return
        }
      }
    }
  }
  Reflect.apply(nodeFs.write, undefined, [fd, data, ...rest])
}

/** `fs.writev(fd, buffers[, position], callback)`: one io_uring `writev`. */
export function writev(fd: number, buffers: readonly NodeJS.ArrayBufferView[], ...rest: unknown[]): void {
  const { cb, position } = vectorCall(rest)
  if (
    cb !== undefined &&
    vectorOnRing(fd, buffers) &&
    buffers.length <= IOV_MAX &&
    buffers.every((b) => ArrayBuffer.isView(b))
  ) {
    const pos = typeof position === 'number' ? positionOf(position, 0) : -1
    if (pos >= -1 && routeOf(fd)?.oDirect !== true) {
      const list = buffers.slice()
      native(
        (b, t) => b.writev(FILE_KIND_FD, fd, list as NodeJS.ArrayBufferView[], pos, t),
        (r) => (r < 0 ? cb(systemError(r, 'write'), 0, buffers) : cb(null, r, buffers)),
        (e: unknown) => cb(e, 0, buffers)
      )
      return
    }
  }
  Reflect.apply(nodeFs.writev, undefined, [fd, buffers, ...rest])
}

// ------------------------------------------------------------------ stat --

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

// ------------------------------------------------------------------ paths --

/** `fs.rename(oldPath, newPath, callback)`: io_uring `renameat`. */
export function rename(oldPath: NodeFsTypes.PathLike, newPath: NodeFsTypes.PathLike, callback: unknown): void {
  if (ringUp() && arguments.length === 3 && isPath(oldPath) && isPath(newPath) && typeof callback === 'function') {
    if (hasOp('renameat')) {
      const cb = callback as Callback
      native((b, t) => b.rename(oldPath, newPath, t), doneWaiter(cb, 'rename', oldPath, newPath), cb)
      return
    }
  }
  Reflect.apply(nodeFs.rename, undefined, Array.prototype.slice.call(arguments))
}

/** `fs.unlink(path, callback)`: io_uring `unlinkat`. */
export function unlink(path: NodeFsTypes.PathLike, callback: unknown): void {
  if (ringUp() && arguments.length === 2 && isPath(path) && typeof callback === 'function' && hasOp('unlinkat')) {
    const cb = callback as Callback
    native((b, t) => b.unlink(path, false, t), doneWaiter(cb, 'unlink', path), cb)
    return
  }
  Reflect.apply(nodeFs.unlink, undefined, Array.prototype.slice.call(arguments))
}

/**
 * `fs.mkdir(path[, options], callback)`: io_uring `mkdirat`; `{ recursive: true }` calls back
 * with the first directory created (Node's `MKDirpAsync` steps, see paths.ts).
 */
export function mkdir(path: NodeFsTypes.PathLike, options?: unknown, callback?: unknown): void {
  const cb = typeof options === 'function' ? options : callback
  const opts = typeof options === 'function' ? undefined : options
  let recursive = false
  let mode = 0o777
  let ok = arguments.length <= 3 && typeof cb === 'function' && isPath(path)
  if (ok && typeof opts === 'number') {
    mode = opts
    ok = opts >>> 0 === opts
  } else if (ok && opts != null) {
    const o = opts as { recursive?: unknown; mode?: unknown }
    ok = typeof opts === 'object'
    if (ok && o.recursive !== undefined) {
      ok = typeof o.recursive === 'boolean'
      recursive = o.recursive === true
    }
    if (ok && o.mode !== undefined) {
      ok = typeof o.mode === 'number' && o.mode >>> 0 === o.mode
      mode = o.mode as number
    }
  }
  if (ok && ringUp() && hasOp('mkdirat') && hasOp('statx')) {
    const done = cb as Callback
    if (!recursive) {
      native((b, t) => b.mkdir(path as string, mode, t), doneWaiter(done, 'mkdir', path as string), done)
      return
    }
    mkdirP(path as string, { recursive: true, mode }).then(
      (first) => deliver(done, null, first),
      (e: unknown) => deliver(done, e)
    )
    return
  }
  Reflect.apply(nodeFs.mkdir, undefined, Array.prototype.slice.call(arguments))
}

/**
 * Calls a callback from a promise reaction, with Node's argument count (a trailing
 * `undefined` is not passed); an exception it throws is an uncaught exception, as it would be
 * from Node's callback, not a rejected promise.
 */
function deliver(cb: Callback, err: unknown, value?: unknown): void {
  try {
    if (err != null || value === undefined) cb(err ?? null)
    else cb(null, value)
  } catch (e) {
    queueMicrotask(() => {
      throw e
    })
  }
}

// ------------------------------------------------------------------ whole files --

/** A readFile/writeFile options argument the ring serves (no signal, no flush, known encoding). */
function plainFileOptions(options: unknown, flag: string, flagOk: (f: unknown) => boolean): boolean {
  if (options == null) return true
  if (typeof options === 'string') return Buffer.isEncoding(options)
  if (typeof options !== 'object') return false
  const o = options as {
    encoding?: unknown
    flag?: unknown
    signal?: unknown
    flush?: unknown
    mode?: unknown
    buffer?: unknown
  }
  if (o.signal != null || (o.flush !== undefined && o.flush !== false)) return false
  // readFile's `buffer` (Node 24.22+, 26; a Buffer as options has one): node:fs checks and serves it.
  if (o.buffer !== undefined) return false
  if (o.encoding != null && !(typeof o.encoding === 'string' && Buffer.isEncoding(o.encoding))) return false
  if (o.mode != null && !(typeof o.mode === 'number' && o.mode >>> 0 === o.mode)) return false
  return o.flag === undefined || o.flag === flag || flagOk(o.flag)
}

/** `fs.readFile(path[, options], callback)`: boros/fs `readFile` (one trip for a small file). */
export function readFile(path: NodeFsTypes.PathOrFileDescriptor, options?: unknown, callback?: unknown): void {
  // Node: `callback ||= options`; options that are a function mean the defaults.
  const cb = callback || options
  const opts = typeof options === 'function' ? undefined : options
  if (
    ringUp() &&
    arguments.length <= 3 &&
    typeof cb === 'function' &&
    isPath(path) &&
    plainFileOptions(opts, 'r', () => false)
  ) {
    readFileP(path, opts as Parameters<typeof readFileP>[1]).then(
      (data) => deliver(cb as Callback, null, data),
      (e: unknown) => deliver(cb as Callback, e)
    )
    return
  }
  Reflect.apply(nodeFs.readFile, undefined, Array.prototype.slice.call(arguments))
}

const writeFlag = (f: unknown): boolean => typeof f === 'string' && ['w', 'wx', 'w+', 'a', 'ax', 'a+'].includes(f)

function writeCall(append: boolean, args: IArguments): void {
  const [path, data, options, callback] = args
  // Node: `callback ||= options` (writeFile(p, d, cb) and writeFile(p, d, fn, cb) both call
  // cb); options that are a function mean the defaults.
  const cb = callback || options
  const opts = typeof options === 'function' ? undefined : options
  if (
    ringUp() &&
    args.length <= 4 &&
    typeof cb === 'function' &&
    isPath(path) &&
    (typeof data === 'string' || ArrayBuffer.isView(data)) &&
    plainFileOptions(opts, append ? 'a' : 'w', writeFlag)
  ) {
    const fn = append ? appendFileP : writeFileP
    fn(path, data as string, opts as Parameters<typeof fn>[2]).then(
      () => deliver(cb as Callback, null),
      (e: unknown) => deliver(cb as Callback, e)
    )
    return
  }
  Reflect.apply(append ? nodeFs.appendFile : nodeFs.writeFile, undefined, Array.prototype.slice.call(args))
}

/** `fs.writeFile(file, data[, options], callback)`: boros/fs `writeFile`. */
export function writeFile(
  _file: NodeFsTypes.PathOrFileDescriptor,
  _data: unknown,
  _options?: unknown,
  _cb?: unknown
): void {
  writeCall(false, arguments)
}

/** `fs.appendFile(path, data[, options], callback)`: boros/fs `appendFile`. */
export function appendFile(
  _path: NodeFsTypes.PathOrFileDescriptor,
  _data: unknown,
  _options?: unknown,
  _cb?: unknown
): void {
  writeCall(true, arguments)
}

export { RING_FUNCTIONS } from './ring-names.js'
