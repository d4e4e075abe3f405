/**
 * The callback API's path calls: `fs.rename`, `fs.unlink`, `fs.mkdir` on the ring (see
 * ring-callbacks.ts for which shapes take it; every other one is node:fs's own).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/complexity/noArguments: Node's overloads depend on how many arguments were passed; delegation passes them on unchanged
import type * as NodeFsTypes from 'node:fs'
import { nodeFs } from '../node-fs.js'
import { mkdir as mkdirP } from './paths.js'
import { hasOp } from './op-support.js'
import { type Callback, deliver, doneWaiter, isPath, native, ringUp } from './callback-shared.js'

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
