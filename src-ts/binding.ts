/**
 * The bridge to the native ring of this thread: loading the addon, choosing the backend,
 * the table of pending operations, and settling them in batches.
 *
 * Path of one operation: a façade call takes a token, stores its waiter in `waiters[token]`,
 * and either calls a native function, which queues one SQE (no syscall), or — for the hot
 * reads and writes of up to `FAST_MAX` bytes — writes one entry into the shared submission
 * queue (`queueRead`/`queueWrite`, no native call at all). Just before libuv blocks, the
 * native side drains the shared queue into SQEs and submits the whole batch in one
 * `io_uring_enter`. When the ring's eventfd fires, it reaps every CQE and calls
 * `onComplete(n)` once, with `n` (token, result) pairs in `results`; a queued read's bytes are
 * copied from its arena slot into the caller's buffer, and each waiter is called with its
 * result (`-errno` on failure).
 * Not part of the public API.
 * @module
 */
import { AbortError, codes, codedError } from './errors.js'
import { currentTask } from './task-context.js'
import type * as Native from '../index.js'

export type NativeBinding = typeof Native

/** Which backend serves this thread. */
export type Backend = 'io_uring' | 'fallback'

let native: NativeBinding | undefined
let loadError: Error | undefined
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  native = require('../index.js') as NativeBinding
} catch (e) {
  loadError = e as Error
}

/** Up to this many completions are handed over per call; more take several calls. */
const RESULT_PAIRS = 4096
const results = new Int32Array(RESULT_PAIRS * 2)
const waiters: Array<((result: number) => void) | undefined> = []
const freeTokens: number[] = []
let nextToken = 0

// The shared submission queue (see crates/boros-node/src/queue.rs). Allocated at init.
/** Reads and writes of at most this many bytes can go through the shared queue. */
export const FAST_MAX = 16384
const ENTRY_FIELDS = 8
const QUEUE_CAPACITY = 1024
const ARENA_SLOTS = 1024
const CTL_QUEUED = 0
const CTL_REFERENCED = 1
const KIND_READ = 0
const KIND_WRITE = 1
const KIND_POOL_READ = 2
const KIND_POOL_WRITE = 3
const EFAULT = -14
let entries: Float64Array
let ctl: Int32Array
/** The arena: `ARENA_SLOTS` page-aligned slots of `FAST_MAX` bytes. Never leaves this module. */
let arena: Uint8Array
const freeSlots: number[] = []
/** Per slot: a view of its first bytes, as long as the last read that completed in it. */
const slotViews: Array<Uint8Array | undefined> = []
/** Per token: its arena slot (-1: none), and for reads the buffer and offset to copy into. */
const slotOf: number[] = []
const readInto: Array<NodeJS.ArrayBufferView | undefined> = []
const readOffset: number[] = []

function setUpQueue(binding: NativeBinding): void {
  entries = new Float64Array(QUEUE_CAPACITY * ENTRY_FIELDS)
  ctl = new Int32Array(4)
  const buffer = new ArrayBuffer(ARENA_SLOTS * FAST_MAX + 4096)
  const offset = binding.init(onComplete, results, entries, ctl, buffer)
  arena = new Uint8Array(buffer, offset, ARENA_SLOTS * FAST_MAX)
  for (let i = ARENA_SLOTS - 1; i >= 0; i--) freeSlots.push(i)
}

/** Copies a completed queued read out of its arena slot; returns the result to report. */
function finishRead(token: number, slot: number, result: number): number {
  const target = readInto[token]!
  readInto[token] = undefined
  if (result <= 0) return result
  const at = readOffset[token]!
  // Reuse the slot's last view when the length repeats (it usually does): no allocation.
  let from = slotViews[slot]
  if (from === undefined || from.length !== result) {
    from = arena.subarray(slot * FAST_MAX, slot * FAST_MAX + result)
    slotViews[slot] = from
  }
  // A target detached (transferred) while the read was in flight has length 0 now: the bytes
  // have nowhere to go, so the read fails with EFAULT, as a read into a bad address would.
  if (target.byteLength < at + result) return EFAULT
  if (target instanceof Uint8Array) target.set(from, at)
  else new Uint8Array(target.buffer, target.byteOffset + at, result).set(from)
  return result
}

function onComplete(n: number): void {
  for (let i = 0; i < n; i++) {
    const token = results[2 * i]!
    let result = results[2 * i + 1]!
    const slot = slotOf[token]!
    if (slot >= 0) {
      slotOf[token] = -1
      if (readInto[token] !== undefined) result = finishRead(token, slot, result)
      freeSlots.push(slot)
    }
    const waiter = waiters[token]
    waiters[token] = undefined
    freeTokens.push(token)
    if (waiter !== undefined) {
      try {
        waiter(result)
      } catch (err) {
        // A waiter must never stop the others from settling.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }
}

interface State {
  readonly backend: Backend
  readonly reason?: string
  readonly error?: Error
}
let state: State | undefined

/** Sets this thread's ring up on first use, or decides on the fallback (and why). */
export function backendState(): State {
  if (state !== undefined) return state
  if (process.env.BOROS_BACKEND === 'fallback') {
    state = { backend: 'fallback', reason: 'forced by BOROS_BACKEND=fallback' }
  } else if (native === undefined) {
    const reason = `the boros native addon could not be loaded for ${process.platform}-${process.arch}: ${loadError?.message.split('\n')[0]}`
    state = { backend: 'fallback', reason, error: codedError(Error, codes.NO_BINARY, reason, loadError) }
  } else {
    try {
      setUpQueue(native)
      state = { backend: 'io_uring' }
    } catch (e) {
      const err = e as Error & { code?: string }
      process.emitWarning(`boros: io_uring is not available, using node:fs instead (${err.message})`, {
        type: 'BorosWarning',
        code: 'BOROS_FALLBACK'
      })
      state = {
        backend: 'fallback',
        reason: err.message,
        error: codedError(Error, err.code ?? codes.IO_URING_UNAVAILABLE, err.message, err)
      }
    }
  }
  return state
}

/** The native binding with this thread's ring set up; throws when io_uring is not usable. */
export function ring(): NativeBinding {
  const s = backendState()
  if (s.backend === 'io_uring') return native!
  throw s.error ?? codedError(Error, codes.IO_URING_UNAVAILABLE, `io_uring is not in use: ${s.reason}`)
}

/** Whether this thread uses io_uring (sets the ring up on first call). */
export function usesRing(): boolean {
  return backendState().backend === 'io_uring'
}

/** The native binding, if it loaded (for probes that need no ring). */
export function nativeBinding(): NativeBinding | undefined {
  return native
}

/** Takes a token for one operation. */
export function takeToken(waiter: (result: number) => void): number {
  const token = freeTokens.length > 0 ? freeTokens.pop()! : nextToken++
  waiters[token] = waiter
  slotOf[token] = -1
  return token
}

/** Writes one entry into the shared submission queue. */
function enqueue(
  kind: number,
  fd: number,
  offset: number,
  length: number,
  position: number,
  token: number,
  pool = 0,
  index = 0
): void {
  let n = ctl[CTL_QUEUED]!
  if (n === QUEUE_CAPACITY) {
    native!.flush()
    n = 0
  }
  const e = n * ENTRY_FIELDS
  entries[e] = kind
  entries[e + 1] = fd
  entries[e + 2] = offset
  entries[e + 3] = length
  entries[e + 4] = position
  entries[e + 5] = token
  entries[e + 6] = pool
  entries[e + 7] = index
  ctl[CTL_QUEUED] = n + 1
  // Nothing keeps the loop alive for this entry yet: have the runtime take it now.
  if (n === 0 && ctl[CTL_REFERENCED] === 0) native!.flush()
}

/**
 * Queues a read of `length` (<= `FAST_MAX`) bytes at `position` (-1: current position) through
 * the shared queue; at completion the bytes are copied into `target[offset..]` and `waiter` is
 * called with the result. Returns false (queuing nothing) when no arena slot is free: the
 * caller then takes the per-op native path. The ring must be set up (`ring()`).
 */
export function queueRead(
  fd: number,
  target: NodeJS.ArrayBufferView,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): boolean {
  const slot = freeSlots.pop()
  if (slot === undefined) return false
  const token = takeToken(waiter)
  slotOf[token] = slot
  readInto[token] = target
  readOffset[token] = offset
  enqueue(KIND_READ, fd, slot * FAST_MAX, length, position, token)
  return true
}

/**
 * Queues a write of `source[offset..offset+length]` (`length` <= `FAST_MAX`) through the shared
 * queue. The bytes are copied into an arena slot now, so the caller may reuse `source` at once.
 * Returns false when no arena slot is free. The ring must be set up (`ring()`).
 */
export function queueWrite(
  fd: number,
  source: NodeJS.ArrayBufferView,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): boolean {
  const slot = freeSlots.pop()
  if (slot === undefined) return false
  const at = slot * FAST_MAX
  if (source instanceof Uint8Array) arena.set(source.subarray(offset, offset + length), at)
  else arena.set(new Uint8Array(source.buffer, source.byteOffset + offset, length), at)
  const token = takeToken(waiter)
  slotOf[token] = slot
  enqueue(KIND_WRITE, fd, slot * FAST_MAX, length, position, token)
  return true
}

/**
 * Queues a read into (or a write from) bytes `offset..offset+length` of buffer `index` of the
 * BufferPool numbered `pool`, through the shared queue: the kernel reads or writes the pool
 * memory itself (`READ_FIXED`/`WRITE_FIXED` when registered), no copy. The caller checked
 * that the pool is live and the range inside the buffer. The ring must be set up (`ring()`).
 */
export function queuePool(
  write: boolean,
  fd: number,
  pool: number,
  index: number,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): void {
  const token = takeToken(waiter)
  enqueue(write ? KIND_POOL_WRITE : KIND_POOL_READ, fd, offset, length, position, token, pool, index)
}

/** Gives a token back when its native call threw (nothing was queued). */
export function dropToken(token: number): void {
  waiters[token] = undefined
  slotOf[token] = -1
  freeTokens.push(token)
}

/** Queues one native operation: `start(token)` calls the native function and returns its key. */
export type Start = (binding: NativeBinding, token: number) => number

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason })
}

/**
 * Submits one operation. `map` turns its raw result (`>= 0`, or `-errno`) into the value to
 * resolve with, or throws the error to reject with. Rejects with `AbortError` when `signal` (or
 * the surrounding task) cancels it: the kernel is asked to cancel, and the promise settles only
 * once the kernel has posted the completion, so the op's memory is never released early.
 */
export function submit<T>(start: Start, map: (result: number) => T, signal?: AbortSignal | null): Promise<T> {
  const binding = ring()
  const task = currentTask()
  if (signal == null && task === undefined) {
    // The hot path: no cancellation to wire up.
    return new Promise<T>((resolve, reject) => {
      const token = takeToken((result) => {
        try {
          resolve(map(result))
        } catch (e) {
          reject(e)
        }
      })
      try {
        start(binding, token)
      } catch (e) {
        dropToken(token)
        throw e
      }
    })
  }
  if (signal?.aborted) return Promise.reject(abortError(signal))
  return new Promise<T>((resolve, reject) => {
    let key = -1
    let cancelledBy: AbortSignal | undefined
    const onAbort = (): void => {
      cancelledBy = signal?.aborted ? signal : task?.signal
      if (key >= 0) binding.cancel(key)
    }
    const token = takeToken((result) => {
      signal?.removeEventListener('abort', onAbort)
      task?.untrack(onAbort)
      // Only an op the kernel did not finish counts as aborted: a read or write that completed
      // before the cancel took effect has moved bytes and positions, so its result is kept.
      if (cancelledBy !== undefined && result < 0) {
        reject(abortError(cancelledBy))
        return
      }
      try {
        resolve(map(result))
      } catch (e) {
        reject(e)
      }
    })
    try {
      key = start(binding, token)
    } catch (e) {
      dropToken(token)
      throw e
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    task?.track(onAbort)
  })
}
