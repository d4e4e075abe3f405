/**
 * The response queue: a response that ends in the call that starts it (`serve()`'s
 * `Response`, `res.end(body)`) is written as one record into memory the binding reads when
 * the engine flushes (before each submit), instead of an `httpRespond` call: no N-API call per
 * response (`crates/boros-node/src/http/batch.rs` is the other side; layout in `wire.ts`,
 * `HTTP_RQ_*`). The head is an id registered once per distinct head (`httpHead`), or its
 * bytes; the body's bytes are copied into the slab. Every other engine call applies the queue
 * first, so calls on a connection keep their order.
 *
 * One queue per thread (the binding's engine is per thread, like this module's state).
 * @module
 */
import type { ring } from '../binding.js'
import * as wire from '../wire.js'

type NativeBinding = ReturnType<typeof ring>

/** Node's Buffer writers (what `buf.write(s, off, enc)` calls), untyped. */
type Writable = Buffer & {
  utf8Write(s: string, offset: number, length: number): number
  latin1Write(s: string, offset: number, length: number): number
}

const CTL = wire.HTTP_RQ_CTL_WORDS
const WORDS = wire.HTTP_RQ_WORDS
const RECORDS = wire.HTTP_RQ_RECORDS
const SLAB = wire.HTTP_RQ_SLAB
const QUEUED = wire.HTTP_RQ_QUEUED
const USED = wire.HTTP_RQ_USED

let b: NativeBinding | undefined
let words: Uint32Array
let slab: Writable
/** Registered heads by their string; the last one looked up, and its id. */
const heads = new Map<string, number>()
let lastHead: string | undefined
let lastId = 0

/**
 * Sets the queue up (its memory once per thread) and registers it with the binding: at every
 * server's start, as a runtime closed and opened again has forgotten it (the binding takes the
 * same memory once).
 */
export function queueInit(binding: NativeBinding): void {
  if (b === undefined) {
    words = new Uint32Array(CTL + RECORDS * WORDS)
    slab = Buffer.allocUnsafeSlow(SLAB) as Writable
  }
  binding.httpQueue(words, slab)
  b = binding
}

/** `s` at `off` as UTF-8 when it is short ASCII (no C++ call); -1 when it is not. */
function ascii(s: string, off: number): number {
  const n = s.length
  if (n > 64) return -1
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return -1
    slab[off + i] = c
  }
  return n
}

/**
 * Queues the response (`end` must be true: a queued response reports no backpressure).
 * False when it cannot be queued (queue not set up or full, a body it does not take, a large
 * one): the caller then calls `httpRespond`, which applies the queue first.
 */
export function queueRespond(
  srv: number,
  conn: number,
  seq: number,
  status: number,
  head: string,
  flags: number,
  body: Uint8Array | string | object | null
): boolean {
  if (b === undefined) return false
  const w = words
  const n = w[QUEUED]!
  if (n >= RECORDS) return false
  let used = w[USED]!
  let bits = wire.HTTP_RQ_END
  let bodyOff = 0
  let bodyLen = 0
  if (body !== null) {
    if (typeof body === 'string') {
      if (body.length > wire.HTTP_RQ_BODY_MAX || used + 3 * body.length > SLAB) return false
      bodyLen = ascii(body, used)
      if (bodyLen < 0) bodyLen = slab.utf8Write(body, used, SLAB - used)
    } else if (body instanceof Uint8Array) {
      bodyLen = body.byteLength
      if (bodyLen >= wire.HTTP_RQ_BODY_MAX || used + bodyLen > SLAB) return false
      slab.set(body, used)
    } else return false
    bits |= wire.HTTP_RQ_BODY
    bodyOff = used
    used += bodyLen
  }
  let id = lastId
  let headOff = 0
  let headLen = 0
  if (head !== lastHead) {
    let known = heads.get(head)
    if (known === undefined && heads.size < wire.HTTP_RQ_HEADS_MAX) {
      known = b.httpHead(head)
      heads.set(head, known)
    }
    if (known === undefined) {
      // The table is full: the head's bytes go in the slab.
      if (used + head.length > SLAB) return false
      headOff = used
      headLen = slab.latin1Write(head, used, SLAB - used)
      used += headLen
      bits |= wire.HTTP_RQ_INLINE
    } else {
      lastHead = head
      lastId = id = known
    }
  }
  const at = CTL + n * WORDS
  w[at + wire.HTTP_RQ_SRV] = srv
  w[at + wire.HTTP_RQ_CONN] = conn
  w[at + wire.HTTP_RQ_SEQ] = seq
  w[at + wire.HTTP_RQ_STATUS] = status
  w[at + wire.HTTP_RQ_FLAGS] = flags
  w[at + wire.HTTP_RQ_BITS] = bits
  w[at + wire.HTTP_RQ_HEAD] = id
  w[at + wire.HTTP_RQ_HEAD_OFF] = headOff
  w[at + wire.HTTP_RQ_HEAD_LEN] = headLen
  w[at + wire.HTTP_RQ_BODY_OFF] = bodyOff
  w[at + wire.HTTP_RQ_BODY_LEN] = bodyLen
  w[USED] = used
  w[QUEUED] = n + 1
  return true
}
