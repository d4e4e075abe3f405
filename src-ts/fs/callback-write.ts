/**
 * The callback API's writes: `fs.write` and `fs.writev` on the ring (see ring-callbacks.ts for
 * which shapes take it; every other one is node:fs's own).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/suspicious/noExplicitAny: callbacks and option bags of any shape are checked at run time
import { FAST_MAX, queueWrite } from '../binding.js'
import { systemError } from '../errors.js'
import { nodeFs } from '../node-fs.js'
import { FILE_KIND_FD } from '../wire.js'
import { IOV_MAX } from '../errno.js'
import {
  type Callback,
  INT32_MAX,
  isFd,
  native,
  positionOf,
  refOf,
  ringUp,
  routeOf,
  vectorCall,
  vectorOnRing,
  wroteTo
} from './callback-shared.js'

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
  wroteTo(fd, route, len, pos)
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
          // Node's destructuring defaults: each applies to `undefined` only.
          offset = o.offset === undefined ? 0 : o.offset
          length = o.length === undefined ? data.byteLength - (offset as number) : o.length
          position = o.position === undefined ? null : o.position
        }
        if (offset == null || typeof offset === 'function') offset = 0
        else ok = typeof offset === 'number' && Number.isInteger(offset) && offset >= 0
        // Only from a valid offset: a Symbol would throw here, not in node:fs's validation below.
        if (ok && typeof length !== 'number') length = data.byteLength - (offset as number)
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
    const route = routeOf(fd)
    if (pos >= -1 && route?.oDirect !== true) {
      const list = buffers.slice()
      wroteTo(
        fd,
        route,
        list.reduce((sum, b) => sum + b.byteLength, 0),
        pos
      )
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
