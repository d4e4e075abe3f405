/**
 * The bridge to the native ring of this thread: loading the addon, choosing the backend,
 * the table of pending operations, and settling them in batches.
 *
 * Path of one operation: a façade call takes a token, stores its waiter in `waiters[token]`,
 * and either calls a native function, which queues one SQE (no syscall), or — for the hot
 * reads and writes of up to `FAST_MAX` bytes — writes one entry into the shared submission
 * queue (`queueRead`/`queueWrite`, no native call at all). Just before libuv blocks, the
 * native side drains the shared queue into SQEs and submits the whole batch in one
 * `io_uring_enter`. When the ring's descriptor becomes readable, it reaps every CQE and calls
 * `onComplete(n)` once, with `n` (token, result) pairs in `results`; a queued read's bytes are
 * copied from its arena slot into the caller's buffer, and each waiter is called with its
 * result (`-errno` on failure).
 * Not part of the public API.
 * @module
 */
import { codes, codedError } from './errors.js'
import { fileNumber, type FileRef } from './file-ref.js'
import * as wire from './wire.js'
import { EFAULT } from './errno.js'
import { loadNative, type NativeBinding } from './native-loader.js'

export type { NativeBinding }

/** Which backend serves this thread. */
export type Backend = 'io_uring' | 'fallback'

let native: NativeBinding | undefined
let loadError: Error | undefined
try {
  native = loadNative()
} catch (e) {
  loadError = e as Error
}

const results = new Int32Array(wire.RESULT_PAIRS * 2)
const events = new Int32Array(wire.EVENT_CAPACITY * wire.EVENT_FIELDS)
/**
 * What a stream (a listener's accept, a connection's receive) does with its events: `result`
 * as `wire.ts` says (`EVENT_RESULT`), `data[offset..offset+result]` the bytes received
 * (`data` is one segment of the batch: other bytes of it may belong to other streams).
 */
export type StreamHandler = (result: number, data: Buffer | undefined, offset: number) => void
const streams: Array<StreamHandler | undefined> = []
/**
 * Each stream's `this` for its handler: one handler shared by every connection instead of a
 * closure and its context per connection (issue 21, memory per connection).
 */
const receivers: unknown[] = []
const freeStreams: number[] = []
const waiters: Array<((result: number) => void) | undefined> = []
/** Each token's `this` for its waiter (as `receivers` for streams). */
const waiterThis: unknown[] = []
const freeTokens: number[] = []
let nextToken = 0

// The shared submission queue (see crates/boros-node/src/queue.rs; layout in wire.ts).
/** Reads and writes of at most this many bytes can go through the shared queue. */
export const FAST_MAX = wire.FAST_MAX
let entries: Float64Array
let ctl: Int32Array
/**
 * The arena: `ARENA_SLOTS` page-aligned slots of `FAST_MAX` bytes. Never leaves this module.
 * Made at the first read or write through the queue (`makeArena`): 16 MiB of address space that
 * V8 counts as external memory, which a process that never takes this path (boros/net alone)
 * does not need (issue 21). Until then `freeSlots` is empty.
 */
let arena: Uint8Array | undefined
const freeSlots: number[] = []
/** Per slot: a view of its first bytes, as long as the last read that completed in it. */
const slotViews: Array<Uint8Array | undefined> = []
/** Per token: its arena slot (-1: none), and for reads the buffer and offset to copy into. */
const slotOf: number[] = []
const readInto: Array<NodeJS.ArrayBufferView | undefined> = []
const readOffset: number[] = []

function setUpQueue(binding: NativeBinding): void {
  entries = new Float64Array(wire.QUEUE_CAPACITY * wire.ENTRY_FIELDS)
  ctl = new Int32Array(wire.CTL_LEN)
  // The binary checks that it speaks the same protocol (the digest of wire.rs) before anything.
  binding.init(wire.DIGEST, onComplete, results, events, entries, ctl)
}

/**
 * Makes the arena and hands it to the ring; returns a free slot, or undefined when the ring
 * refuses it (it is shutting down): the caller then takes the per-op path, which says why.
 */
function makeArena(): number | undefined {
  const buffer = new ArrayBuffer(wire.ARENA_SLOTS * FAST_MAX + wire.ARENA_ALIGN)
  let offset: number
  try {
    offset = native!.setArena(buffer)
  } catch {
    return undefined
  }
  arena = new Uint8Array(buffer, offset, wire.ARENA_SLOTS * FAST_MAX)
  for (let i = wire.ARENA_SLOTS - 1; i > 0; i--) freeSlots.push(i)
  return 0
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
    from = arena!.subarray(slot * FAST_MAX, slot * FAST_MAX + result)
    slotViews[slot] = from
  }
  // A target detached (transferred) while the read was in flight has length 0 now: the bytes
  // have nowhere to go, so the read fails with EFAULT, as a read into a bad address would.
  if (target.byteLength < at + result) return EFAULT
  if (target instanceof Uint8Array) target.set(from, at)
  else new Uint8Array(target.buffer, target.byteOffset + at, result).set(from)
  return result
}

/**
 * Opens a stream: its events go to `handler` (called on `receiver`) until `closeStream(id)`.
 * Returns its id.
 */
export function openStream<T = undefined>(
  handler: (this: T, ...args: Parameters<StreamHandler>) => void,
  receiver?: T
): number {
  const id = freeStreams.length > 0 ? freeStreams.pop()! : streams.length
  streams[id] = handler as StreamHandler
  receivers[id] = receiver
  return id
}

/**
 * Closes a stream id. Call once its op has posted its last event (an end, an error, a cancel):
 * an event for a closed id is dropped.
 */
export function closeStream(id: number): void {
  if (streams[id] === undefined) return
  streams[id] = undefined
  receivers[id] = undefined
  freeStreams.push(id)
}

let batch = 0
let batchTurn = 0
let batchEvents = 0
/** Which delivery of completions this is (one per JS call from the ring; see `net/connection.ts`). */
export function deliveryBatch(): number {
  return batch
}

/**
 * The event loop's turn of the last delivery (the native side counts libuv's prepare phases):
 * two deliveries with the same number came in one poll phase, with no timers or immediates
 * run between them.
 */
export function deliveryTurn(): number {
  return batchTurn
}

/**
 * How many stream events (receives, accepts) the last delivery carried. One or none: the ring
 * is serving a single busy connection, so a write has no other sends of its turn to share an
 * `io_uring_enter` with (see `tryNow` in `net/connection.ts`).
 */
export function deliveryEvents(): number {
  return batchEvents
}

/**
 * One batch from the ring: `n` completions in `results`, `m` stream events in `events`, whose
 * bytes are in the Buffers of `segments`, or in an ArrayBuffer of its own for a large receive (the
 * binding's array, cleared after the batch: read only the entries the events name).
 */
function onComplete(n: number, m: number, segments: (Buffer | ArrayBuffer)[] | undefined, turn: number): void {
  batch++
  batchTurn = turn
  batchEvents = m
  settle(n)
  for (let i = 0; i < m; i++) {
    const e = i * wire.EVENT_FIELDS
    const id = events[e + wire.EVENT_STREAM]!
    const handler = streams[id]
    if (handler === undefined) continue
    try {
      const result = events[e + wire.EVENT_RESULT]!
      let data: Buffer | undefined
      if (result > 0) {
        const seg = segments![events[e + wire.EVENT_SEGMENT]!]!
        // A large receive comes as its own ArrayBuffer (segments.rs `create_array_buffer`):
        // its Buffer is made here, as node:net's read path makes its FastBuffer in JS.
        data = seg instanceof ArrayBuffer ? Buffer.from(seg) : seg
      }
      handler.call(receivers[id], result, data, events[e + wire.EVENT_OFFSET]!)
    } catch (err) {
      queueMicrotask(() => {
        throw err
      })
    }
  }
}

function settle(n: number): void {
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
    const self = waiterThis[token]
    waiters[token] = undefined
    waiterThis[token] = undefined
    freeTokens.push(token)
    if (waiter !== undefined) {
      try {
        waiter.call(self, result)
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
      process.emitWarning(`boros: io_uring is not available, using node:fs and node:net instead (${err.message})`, {
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

/**
 * "No op": what a field that keeps an op's key (`recvStart`, `acceptStart`, a `PendingOp`'s)
 * holds when there is none. A key is the op's slot with the slot's generation in the bits above
 * 32 (`OpKey`): a small integer until the ring reuses a slot, a double from then on. A field that
 * V8 first saw holding small integers (-1, then keys of generation 0) changes representation at
 * the first double; that deprecates the class's map, and every function optimized for it
 * deoptimizes ('wrong map') and is compiled again. In the echo bench that came at the measured
 * pass's start, when the new connections' receives took the slots of the warm-up's: 11 of the
 * 16 deoptimizations there, on the data path of every `Socket` (docs/net.md, issue 21, tenth
 * round). Not a small integer itself, the field is a double from the constructor on; negative,
 * so `key >= 0` still says whether there is one.
 */
export const NO_KEY = -1.5

/** Takes a token for one operation: `waiter` is called on `receiver` with its result. */
export function takeToken<T = undefined>(waiter: (this: T, result: number) => void, receiver?: T): number {
  const token = freeTokens.length > 0 ? freeTokens.pop()! : nextToken++
  waiters[token] = waiter as (result: number) => void
  waiterThis[token] = receiver
  slotOf[token] = -1
  return token
}

/** Writes one entry into the shared submission queue (fields as wire.ts lays them out). */
function enqueue(
  kind: wire.EntryKind,
  file: FileRef,
  offset: number,
  length: number,
  position: number,
  token: number,
  pool = 0,
  index = 0
): void {
  let n = ctl[wire.CTL_QUEUED]!
  if (n === wire.QUEUE_CAPACITY) {
    native!.flush()
    n = 0
  }
  const e = n * wire.ENTRY_FIELDS
  entries[e + wire.ENTRY_KIND] = kind
  entries[e + wire.ENTRY_FILE_KIND] = file.kind
  entries[e + wire.ENTRY_FILE] = fileNumber(file)
  entries[e + wire.ENTRY_OFFSET] = offset
  entries[e + wire.ENTRY_LENGTH] = length
  entries[e + wire.ENTRY_POSITION] = position
  entries[e + wire.ENTRY_TOKEN] = token
  entries[e + wire.ENTRY_POOL] = pool
  entries[e + wire.ENTRY_POOL_INDEX] = index
  ctl[wire.CTL_QUEUED] = n + 1
  // Nothing keeps the loop alive for this entry yet: have the runtime take it now.
  if (n === 0 && ctl[wire.CTL_REFERENCED] === 0) native!.flush()
}

/**
 * Queues a read of `length` (<= `FAST_MAX`) bytes at `position` (-1: current position) through
 * the shared queue; at completion the bytes are copied into `target[offset..]` and `waiter` is
 * called with the result. Returns false (queuing nothing) when no arena slot is free: the
 * caller then takes the per-op native path. The ring must be set up (`ring()`).
 */
export function queueRead(
  file: FileRef,
  target: NodeJS.ArrayBufferView,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): boolean {
  let slot = freeSlots.pop()
  if (slot === undefined) {
    if (arena !== undefined) return false
    slot = makeArena()
    if (slot === undefined) return false
  }
  const token = takeToken(waiter)
  slotOf[token] = slot
  readInto[token] = target
  readOffset[token] = offset
  enqueue(wire.ENTRY_READ, file, slot * FAST_MAX, length, position, token)
  return true
}

/**
 * Queues a write of `source[offset..offset+length]` (`length` <= `FAST_MAX`) through the shared
 * queue. The bytes are copied into an arena slot now, so the caller may reuse `source` at once.
 * Returns false when no arena slot is free. The ring must be set up (`ring()`).
 */
export function queueWrite(
  file: FileRef,
  source: NodeJS.ArrayBufferView,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): boolean {
  let slot = freeSlots.pop()
  if (slot === undefined) {
    if (arena !== undefined) return false
    slot = makeArena()
    if (slot === undefined) return false
  }
  const at = slot * FAST_MAX
  if (source instanceof Uint8Array) arena!.set(source.subarray(offset, offset + length), at)
  else arena!.set(new Uint8Array(source.buffer, source.byteOffset + offset, length), at)
  const token = takeToken(waiter)
  slotOf[token] = slot
  enqueue(wire.ENTRY_WRITE, file, at, length, position, token)
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
  file: FileRef,
  pool: number,
  index: number,
  offset: number,
  length: number,
  position: number,
  waiter: (result: number) => void
): void {
  const token = takeToken(waiter)
  enqueue(write ? wire.ENTRY_POOL_WRITE : wire.ENTRY_POOL_READ, file, offset, length, position, token, pool, index)
}

/** Gives a token back when its native call threw (nothing was queued). */
export function dropToken(token: number): void {
  waiters[token] = undefined
  waiterThis[token] = undefined
  slotOf[token] = -1
  freeTokens.push(token)
}
