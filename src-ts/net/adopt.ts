/**
 * What `new Socket()` takes besides a connect: an open descriptor (`{ fd }`, checked as
 * node:net's `createHandle` checks it) and node:net's `onread` option (received bytes copied
 * into the user's buffer and handed to the user's callback instead of `'data'`).
 * @module
 */
import { fstatSync } from 'node:fs'
import { isUint8Array } from 'node:util/types'
import { ring } from '../binding.js'
import { ENOTSOCK } from '../errno.js'
import { codedError } from '../errors.js'
import { validateInt32 } from './args.js'

const SOCK_STREAM = 1
const SOCK_DGRAM = 2

/**
 * The descriptor `fd` to adopt, when it is a stream socket (TCP or Unix: boros serves it);
 * `'pipe'` for a pipe or FIFO (node:net serves it with libuv's pipe handle). Throws what
 * node:net's `createHandle` throws: `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a bad `fd`,
 * `ERR_INVALID_FD_TYPE` for a descriptor that is neither (`UDP`, `TTY`, `FILE`, `UNKNOWN`).
 */
export function adoptable(fd: unknown): number | 'pipe' {
  validateInt32(fd, 'fd', 0)
  const r = ring().socketType(fd)
  if (r === SOCK_STREAM) {
    const local = ring().socketAddress(fd, false)
    if (local !== null) return fd
    throw fdType('UNKNOWN')
  }
  if (r === SOCK_DGRAM) {
    const family = ring().socketAddress(fd, false)?.family
    throw fdType(family === 'IPv4' || family === 'IPv6' ? 'UDP' : 'UNKNOWN')
  }
  if (r !== ENOTSOCK) throw fdType('UNKNOWN')
  // As libuv's uv_guess_handle: a terminal, then a file (regular or character device), a FIFO.
  if ((require('node:tty') as typeof import('node:tty')).isatty(fd)) throw fdType('TTY')
  let st: ReturnType<typeof fstatSync>
  try {
    st = fstatSync(fd)
  } catch {
    throw fdType('UNKNOWN')
  }
  if (st.isFIFO()) return 'pipe'
  throw fdType(st.isFile() || st.isCharacterDevice() ? 'FILE' : 'UNKNOWN')
}

function fdType(type: string): TypeError {
  return codedError(TypeError, 'ERR_INVALID_FD_TYPE', `Unsupported fd type: ${type}`)
}

/** node:net's `onread` callback: `false` stops receiving until `read()`/`resume()`. */
export type UserReadCb = (bytes: number, buf: Uint8Array) => boolean | undefined

/**
 * node:net's `onread`: each received run of bytes is copied into the user's buffer (at most its
 * size at a time, as libuv reads into it) and given to the callback; a buffer function gives a
 * new buffer after each call.
 */
export class UserRead {
  #buf: Uint8Array | undefined
  readonly #gen: (() => Uint8Array) | undefined
  readonly #cb: UserReadCb
  /** Bytes already received that the callback stopped before (given first on resume). */
  #rest: Buffer | undefined
  /** The callback returned false: nothing more is given until `flush()`. */
  #stopped = false

  constructor(buffer: Uint8Array | (() => Uint8Array), cb: UserReadCb) {
    if (typeof buffer === 'function') this.#gen = buffer
    else this.#buf = buffer
    this.#cb = cb
  }

  #buffer(): Uint8Array | undefined {
    if (this.#buf === undefined && this.#gen !== undefined) {
      const b = this.#gen()
      if (isUint8Array(b)) this.#buf = b
    }
    return this.#buf
  }

  /**
   * Gives `chunk` to the callback; false when it asked to stop (the rest is kept, and so are
   * bytes that come in while stopped: a receive already in flight).
   */
  deliver(chunk: Buffer): boolean {
    if (this.#stopped) {
      this.#rest = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk])
      return false
    }
    let off = 0
    while (off < chunk.length) {
      const buf = this.#buffer()
      // No usable buffer (a generator that gave none, an empty one): the bytes have nowhere to go.
      if (buf === undefined || buf.byteLength === 0) return true
      const n = Math.min(buf.byteLength, chunk.length - off)
      buf.set(chunk.subarray(off, off + n))
      off += n
      const go = this.#cb(n, buf) !== false && !this.#stopped
      if (this.#gen !== undefined) {
        const next = this.#gen()
        if (isUint8Array(next)) this.#buf = next
      }
      if (!go) {
        this.#stopped = true
        if (off < chunk.length) this.#rest = chunk.subarray(off)
        return false
      }
    }
    return true
  }

  /** Whether the callback stopped (or `pause()` did) and `flush()` has not come yet. */
  get stopped(): boolean {
    return this.#stopped
  }

  /** `pause()` (in the callback or not): nothing more is given until `flush()`. */
  stop(): void {
    this.#stopped = true
  }

  /** Gives the kept bytes, if any; whether receiving may go on. */
  flush(): boolean {
    const rest = this.#rest
    this.#rest = undefined
    this.#stopped = false
    return rest === undefined || this.deliver(rest)
  }
}
