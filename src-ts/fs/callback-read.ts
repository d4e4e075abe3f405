/**
 * The callback API's reads: `fs.read` and `fs.readv` on the ring (see ring-callbacks.ts for
 * which shapes take it; every other one is node:fs's own).
 * Not part of the public API.
 * @module
 */
// biome-ignore-all lint/suspicious/noExplicitAny: callbacks and option bags of any shape are checked at run time
import { FAST_MAX, queueRead, ring } from '../binding.js'
import { systemError } from '../errors.js'
import { nodeFs } from '../node-fs.js'
import { BOUNCE_MAX, FILE_KIND_FD } from '../wire.js'
import { RING, SYNC } from './descriptor-route.js'
import {
  type Callback,
  INT32_MAX,
  isFd,
  later,
  native,
  positionOf,
  refOf,
  ringUp,
  routeOf,
  vectorCall,
  vectorOnRing
} from './callback-shared.js'

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
      // tmpfs: a read is a memory copy that never waits (see descriptor-route.ts); the callback still
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
        // Node's validateObject(options, kValidateObjectAllowNullable): null, not undefined.
        ok = params === null || (typeof params === 'object' && !Array.isArray(params))
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
