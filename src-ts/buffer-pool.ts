/**
 * `BufferPool`: buffers registered with this thread's io_uring, lent to JS without copying.
 * @module
 */
import { backendState, ring, type NativeBinding } from './binding.js'
import { codedError, invalidArgType } from './errors.js'
import { validateInteger } from './validate.js'

type NativePool = InstanceType<NativeBinding['NativeBufferPool']>

/** Options of `new BufferPool()`. */
export interface BufferPoolOptions {
  /** How many buffers (1 to 16384). */
  readonly count: number
  /** Bytes per buffer (1 to 1 GiB, the kernel's limit for one registered buffer). */
  readonly size: number
}

interface Slot {
  readonly pool: BufferPool
  readonly index: number
  /** What ops need, while the native pool is live (until dispose); made once, reused. */
  live: PoolSlot | undefined
}

/** Which pool buffer an ArrayBuffer is (every pool buffer has its own ArrayBuffer). */
const slots = new WeakMap<ArrayBufferLike, Slot>()
const natives = new WeakMap<BufferPool, NativePool>()
/** Whether any pool was ever made on this thread: until then no Buffer can be a pool buffer. */
let anyPool = false

/**
 * A set of `count` Buffers of `size` bytes each, registered with the calling thread's
 * io_uring (registration is per ring, so a pool belongs to the thread that made it).
 *
 * `FileHandle.read`/`write` given a pool buffer (or a view into one) use `READ_FIXED` /
 * `WRITE_FIXED`: the kernel reads or writes the pool buffer itself, with no bounce copy and
 * no per-op page pinning. When the kernel refuses the registration (`RLIMIT_MEMLOCK`, the
 * memory cgroup, `ENOMEM`), or io_uring is not in use, the pool still works with plain memory:
 * `registered` is `false` and `reason` says why.
 *
 * The memory is owned natively and freed only once the pool is disposed, no operation is in
 * flight on it, and none of its Buffers is reachable: a read in flight never writes into freed
 * memory, whatever JS does meanwhile. Pool Buffers are external Buffers, which Node never
 * detaches: `postMessage`/`structuredClone` with one in the transfer list copies it (Node 20)
 * or throws `DataCloneError` (Node 22+). On the fallback backend they are plain Buffers, which
 * a transfer detaches like any other.
 *
 * ```js
 * using pool = new BufferPool({ count: 64, size: 65536 })
 * const buf = pool.acquire()
 * const { bytesRead } = await fh.read(buf, 0, buf.length, 0) // READ_FIXED into buf
 * pool.release(buf)
 * ```
 */
export class BufferPool {
  /** Number of buffers. */
  readonly count: number
  /** Bytes per buffer. */
  readonly size: number
  /** Whether the buffers are registered with the ring (`READ_FIXED`/`WRITE_FIXED` in use). */
  readonly registered: boolean
  /** Why the buffers are not registered (`undefined` when they are). */
  readonly reason: string | undefined
  readonly #buffers: Buffer[]
  readonly #free: number[]
  readonly #out: Uint8Array
  #disposed = false

  constructor(options: BufferPoolOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options)
    validateInteger(options.count, 'options.count', 1, 16384)
    validateInteger(options.size, 'options.size', 1, 2 ** 30)
    this.count = options.count
    this.size = options.size
    const state = backendState()
    if (state.backend === 'io_uring') {
      const native = new (ring().NativeBufferPool)(this.count, this.size)
      natives.set(this, native)
      this.#buffers = native.buffers()
      this.registered = native.registered
      this.reason = native.reason ?? undefined
    } else {
      this.#buffers = Array.from({ length: this.count }, () => Buffer.alloc(this.size))
      this.registered = false
      this.reason = `io_uring is not in use (${state.reason}); the pool uses plain memory`
    }
    const native = natives.get(this)
    const id = native?.id ?? 0
    this.#buffers.forEach((buf, index) => {
      slots.set(buf.buffer, { pool: this, index, live: native === undefined ? undefined : { native, index, id } })
      anyPool = true
    })
    this.#free = this.#buffers.map((_, i) => this.count - 1 - i)
    this.#out = new Uint8Array(this.count)
  }

  /** Buffers not acquired right now. */
  get available(): number {
    return this.#free.length
  }

  /**
   * How many reads and writes on this pool's buffers went to the kernel as `READ_FIXED` /
   * `WRITE_FIXED` (0 when not registered; stops counting once disposed).
   */
  get fixedOps(): number {
    return natives.get(this)?.fixedOps ?? 0
  }

  /** Whether `[Symbol.dispose]()` was called. */
  get disposed(): boolean {
    return this.#disposed
  }

  /** Takes a free buffer; `undefined` when all are in use. Throws once disposed. */
  acquire(): Buffer | undefined {
    if (this.#disposed) throw codedError(Error, 'ERR_BOROS_CLOSED', 'BufferPool is disposed')
    const i = this.#free.pop()
    if (i === undefined) return undefined
    this.#out[i] = 1
    return this.#buffers[i]!
  }

  /** Gives back a buffer from `acquire()` (a view into it is accepted too). */
  release(buffer: NodeJS.ArrayBufferView): void {
    const slot = ArrayBuffer.isView(buffer) ? slots.get(buffer.buffer) : undefined
    if (slot === undefined || slot.pool !== this) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'buffer' is not a buffer of this BufferPool")
    }
    if (this.#disposed) return
    if (this.#out[slot.index] === 0) {
      throw codedError(Error, 'ERR_INVALID_STATE', 'Invalid state: this pool buffer was not acquired (released twice?)')
    }
    this.#out[slot.index] = 0
    this.#free.push(slot.index)
  }

  /**
   * Disposes the pool: no more `acquire()`, the registration is dropped (the kernel unpins
   * the pages once the last op using them completed). Buffers still held stay valid, plain
   * memory, until they are garbage collected.
   */
  [Symbol.dispose](): void {
    if (this.#disposed) return
    this.#disposed = true
    for (const buf of this.#buffers) slots.get(buf.buffer)!.live = undefined
    natives.get(this)?.dispose()
    natives.delete(this)
    this.#free.length = 0
  }
}

/** @internal Which buffer of which live native pool a view lies in. */
export interface PoolSlot {
  readonly native: NativePool
  readonly index: number
  /** The native pool's number in the shared submission queue. */
  readonly id: number
}

/** @internal Where a view lies in a live registered-or-not native pool, if it does. */
export function poolSlotOf(view: NodeJS.ArrayBufferView): PoolSlot | undefined {
  return anyPool ? slots.get(view.buffer)?.live : undefined
}
