/**
 * The low-level socket layer on the ring: a `Connection` (a connected stream socket: multishot
 * receive, batched sends); its `Listener` (a multishot accept) is in net/listener.ts. No streams, no promise per
 * message: bytes arrive through `onData` in the same JS call as the whole batch of completions,
 * and writes queued while a send is in flight go out together as one `sendmsg`.
 * `boros/net`'s `Socket` and `Server` (node:net's shape) and the `Conn` API are built on these.
 * @module
 */
import {
  closeStream,
  deliveryBatch,
  deliveryEvents,
  deliveryTurn,
  dropToken,
  NO_KEY,
  openStream,
  ring,
  takeToken
} from '../binding.js'
import { ECANCELED, ENOTCONN, IOV_MAX } from '../errno.js'
import { EVENT_REARM, FILE_KIND_FD } from '../wire.js'
import { counters } from './counters.js'
import { netErrno } from './net-errors.js'

/**
 * Writes of at least this many bytes try `send(2)` at once (`#trySend`); smaller ones go
 * through the ring, batched with every other send of the turn into one `io_uring_enter`
 * (unless `tryNow` finds the ring serving one busy connection).
 * Measured side by side (echo bench, Node 20, 2026-12-06): trying every write made 64 B echo
 * cost 1.1 system calls per message instead of 0.04 (64 B x 1,000: 1.17x node:net instead of
 * 1.55x), while what it buys (the written Buffer dead before the next scavenge, not held to a
 * later round's send CQE) matters for large Buffers (16 KiB x 1,000: peak RSS 138 vs 191 MiB,
 * 0.95x vs 0.78x node:net). A small write held a round longer costs little memory.
 */
const TRY_SEND_MIN = 4096

/**
 * Whether a write of `bytes` (nothing queued or in flight on its connection) tries `send(2)` at
 * once: when it is large (`TRY_SEND_MIN`), or when it is the first small write since the last
 * delivery from the ring and that delivery carried at most one stream event. Then there are no
 * other sends of the turn to share an `io_uring_enter` with, and a ring send would only add
 * work: its CQE sets the eventfd again and costs a second JS call from the ring per message,
 * to run the write's callback. At one busy connection (64 B echo, the server woken for every
 * message) that was most of what it spent above node:net (docs/net.md, "One connection"). The
 * writes after the first (a broadcast to many sockets, a burst from a timer) go through the
 * ring, batched.
 */
function tryNow(bytes: number): boolean {
  if (bytes >= TRY_SEND_MIN) return true
  if (deliveryEvents() > 1 || triedBatch === deliveryBatch()) return false
  triedBatch = deliveryBatch()
  return true
}
/** The delivery after which a small write last tried `send(2)` at once. */
let triedBatch = -1

// The bits of a Connection's `#bits`: a cancel of its receive is on its way; a receive is
// wanted; the peer ended; a waiting receive keeps the process alive; a send is in flight;
// `close()` was called.
const CANCELLED = 1
const READING = 2
const PEER_ENDED = 4
const REFERENCED = 8
const SENDING = 16
const CLOSED = 32

/**
 * Callbacks of a {@link Connection}. Each is given the connection last: one events object can
 * serve every connection of a kind, and find what the connection belongs to in its `owner`.
 */
export interface ConnectionEvents {
  /**
   * Bytes received: a view of the batch's Buffer, fresh for every batch and never reused
   * (keep it as long as you like; the batch's memory goes when no view of it is left).
   */
  onData?: (chunk: Buffer, conn: Connection) => void
  /** The peer ended its side (a FIN): no more `onData`. */
  onEnd?: (conn: Connection) => void
  /** Receiving failed (the connection is not closed by it). */
  onError?: (err: Error, conn: Connection) => void
}

/** Called once the kernel took every byte of a write, or with the error. */
export type WriteCallback = (err?: Error | null) => void

/** Closes a descriptor on the ring, ignoring the result. */
export function closeFd(fd: number, then?: () => void): void {
  const b = ring()
  const token = takeToken(() => then?.())
  try {
    b.close(FILE_KIND_FD, fd, token)
  } catch {
    dropToken(token)
    then?.()
  }
}

/**
 * A connected stream socket (TCP or Unix) on the ring. Receiving starts with `resume()`;
 * `pause()` stops it in the kernel (the multishot receive is cancelled; what the peer sends
 * meanwhile waits in the socket: real backpressure). `write()` sends every byte, in order.
 */
export class Connection {
  /** The socket's descriptor (-1 once closed). */
  fd: number
  events: ConnectionEvents
  /**
   * What this connection belongs to, for its events (a `Socket` keeps itself here, and all
   * sockets share one events object: no object per connection for them; issue 21, thirteenth
   * round).
   */
  owner: unknown
  #stream = -1
  #recvKey = NO_KEY
  // The six yes/no states are bits of one small integer (one field instead of six: 40 B less
  // per connection, issue 21), read and written through the private accessors below.
  #bits = REFERENCED
  // The four lists start as the shared empty NONE and become arrays of their own only when a
  // write waits (most writes are taken at once, or by one send): an idle connection holds no
  // array (issue 21, memory per connection).
  #queue: Buffer[] = NONE
  #callbacks: WriteCallback[] = NONE
  #queuedBytes = 0
  #inFlight: Buffer[] = NONE
  #inFlightCallbacks: WriteCallback[] = NONE
  /** Bytes received and handed to `onData`. */
  bytesRead = 0
  /** Bytes the kernel took. */
  bytesWritten = 0
  /** The loop turn the last bytes came in (see `#onEvent`). */
  #dataTurn = -1

  #bit(bit: number, on: boolean): void {
    this.#bits = on ? this.#bits | bit : this.#bits & ~bit
  }
  get #cancelled(): boolean {
    return (this.#bits & CANCELLED) !== 0
  }
  set #cancelled(on: boolean) {
    this.#bit(CANCELLED, on)
  }
  get #reading(): boolean {
    return (this.#bits & READING) !== 0
  }
  set #reading(on: boolean) {
    this.#bit(READING, on)
  }
  get #ended(): boolean {
    return (this.#bits & PEER_ENDED) !== 0
  }
  set #ended(on: boolean) {
    this.#bit(PEER_ENDED, on)
  }
  get #referenced(): boolean {
    return (this.#bits & REFERENCED) !== 0
  }
  set #referenced(on: boolean) {
    this.#bit(REFERENCED, on)
  }
  get #sending(): boolean {
    return (this.#bits & SENDING) !== 0
  }
  set #sending(on: boolean) {
    this.#bit(SENDING, on)
  }
  get #closed(): boolean {
    return (this.#bits & CLOSED) !== 0
  }
  set #closed(on: boolean) {
    this.#bit(CLOSED, on)
  }

  constructor(fd: number, events: ConnectionEvents = {}, owner?: unknown) {
    this.fd = fd
    this.events = events
    this.owner = owner
    counters.sockets++
    counters.opened++
  }

  /** Bytes queued by `write()` and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.#queuedBytes
  }

  /** Whether the peer ended its side. */
  get ended(): boolean {
    return this.#ended
  }

  /** Whether a receive is wanted (between `resume()` and `pause()`). */
  get reading(): boolean {
    return this.#reading
  }

  // The receive's events and the sends' completions: one function each for every connection
  // (`this` is the connection), not a closure and its context per connection (issue 21).
  static #streamEvent(this: Connection, result: number, data: Buffer | undefined, offset: number): void {
    this.#onEvent(result, data, offset)
  }

  static #sent(this: Connection, sent: number): void {
    this.#onSent(sent)
    // A close that waited for this send (its cancel) goes on now, after the send's callbacks.
    if (this.#closed) closesAfterSend.get(this)?.()
  }

  #onEvent(result: number, data: Buffer | undefined, offset: number): void {
    if (result > 0) {
      if (this.fd < 0) return
      this.bytesRead += result
      this.#dataTurn = deliveryTurn()
      // A receive of 8 KiB or more has a segment of its own, of its exact size (segments.rs):
      // that Buffer is the chunk, no view of it needed.
      this.events.onData?.(
        offset === 0 && result === data!.length ? data! : data!.subarray(offset, offset + result),
        this
      )
      return
    }
    // The multishot receive ended: its last event.
    this.#recvKey = NO_KEY
    const cancelled = this.#cancelled
    this.#cancelled = false
    if (this.fd < 0) {
      closeStream(this.#stream)
      return
    }
    if (result === EVENT_REARM || (result === ECANCELED && cancelled)) {
      if (this.#reading) this.#arm()
      return
    }
    this.#reading = false
    if (result === 0) {
      this.#ended = true
      // Bytes and the end that arrive together: libuv reads the bytes, stops at the short
      // read, and sees the end on its next loop turn; node:http's keep-alive agent relies on
      // the turn between them (the socket is back in `freeSockets` before the end). So an
      // end that follows data of this same loop turn waits for the next turn too.
      if (this.#dataTurn === deliveryTurn()) {
        setImmediate(() => {
          if (this.fd >= 0) this.events.onEnd?.(this)
        })
      } else this.events.onEnd?.(this)
      return
    }
    this.events.onError?.(netErrno(result, 'read'), this)
  }

  #arm(): void {
    if (this.#stream < 0) this.#stream = openStream(Connection.#streamEvent, this)
    const b = ring()
    this.#recvKey = b.recvStart(this.fd, this.#stream)
    if (!this.#referenced) b.setOpRef(this.#recvKey, false)
  }

  /** Starts (or goes on) receiving. */
  resume(): void {
    if (this.#reading || this.#ended || this.fd < 0) return
    this.#reading = true
    if (this.#recvKey < 0) this.#arm()
  }

  /** Stops receiving: the kernel stops taking bytes from the socket for us. */
  pause(): void {
    if (!this.#reading) return
    this.#reading = false
    this.#cancelRecv()
  }

  #cancelRecv(): void {
    if (this.#recvKey >= 0 && !this.#cancelled) {
      this.#cancelled = true
      ring().cancel(this.#recvKey)
    }
  }

  /**
   * Whether a waiting receive keeps the process alive (as `ref()`/`unref()` on a libuv
   * handle). Sends and connects in flight always do, as libuv's requests do.
   */
  setReferenced(on: boolean): void {
    if (this.#referenced === on) return
    this.#referenced = on
    if (this.#recvKey >= 0) ring().setOpRef(this.#recvKey, on)
  }

  /**
   * Queues `chunk` (sent whole, in order; `cb` once the kernel took all of it). Returns the
   * bytes still queued after this one, for backpressure.
   */
  write(chunk: Buffer, cb?: WriteCallback): number {
    if (this.fd < 0) {
      if (cb) queueMicrotask(() => cb(closedError()))
      return this.#queuedBytes
    }
    const rest = this.#trySend(chunk)
    if (rest === undefined) {
      cb?.()
      return this.#queuedBytes
    }
    return this.queue(rest, cb)
  }

  /**
   * `write()` without its try: queues `chunk` for the ring's send (after everything queued or in
   * flight), for a caller that has just tried `sendNow` itself (a second `send(2)` right after
   * a short one or `EAGAIN` would only fail again).
   */
  queue(chunk: Buffer, cb?: WriteCallback): number {
    if (this.fd < 0) {
      if (cb) queueMicrotask(() => cb(closedError()))
      return this.#queuedBytes
    }
    if (this.#queue === NONE) {
      // Lists of one: `[]` then `push` would give each room for 17 (~300 B of young garbage
      // per ring-batched write; issue 21, memory).
      this.#queue = [chunk]
      this.#callbacks = [cb ?? noop]
    } else {
      this.#queue.push(chunk)
      this.#callbacks.push(cb ?? noop)
    }
    this.#queuedBytes += chunk.byteLength
    if (!this.#sending) this.#flush()
    return this.#queuedBytes
  }

  /** Queues `chunks` in order as one write: `cb` once the kernel took all of them. */
  writev(chunks: readonly Buffer[], cb?: WriteCallback): number {
    const n = chunks.length
    if (n === 0) {
      if (cb) queueMicrotask(() => cb())
      return this.#queuedBytes
    }
    if (this.fd < 0) {
      if (cb) queueMicrotask(() => cb(closedError()))
      return this.#queuedBytes
    }
    if (n === 1) return this.write(chunks[0]!, cb)
    // All of them at once, or all of them queued before the flush: one sendmsg, so a
    // response's head and body leave in one segment. (Sending the first alone and the rest
    // after its completion put them in two segments: with Nagle on, the second waited for the
    // peer's delayed ACK, ~40 ms.)
    let rest: readonly Buffer[] = chunks
    if (!this.#sending && this.#queue.length === 0 && n <= IOV_MAX && tryNow(totalBytes(chunks))) {
      const sent = ring().trySendv(this.fd, chunks as Buffer[])
      if (sent > 0) {
        this.bytesWritten += sent
        rest = unsent(chunks as Buffer[], sent)
        if (rest.length === 0) {
          cb?.()
          return this.#queuedBytes
        }
      }
    }
    this.#waiting()
    for (let i = 0; i < rest.length; i++) {
      const chunk = rest[i]!
      this.#queue.push(chunk)
      this.#callbacks.push(i === rest.length - 1 ? (cb ?? noop) : noop)
      this.#queuedBytes += chunk.byteLength
    }
    if (!this.#sending) this.#flush()
    return this.#queuedBytes
  }

  /**
   * `#trySend` for `Socket`'s writes: the bytes of `chunk` the kernel took at once (0 when it
   * took none, or when the write is one for the ring: see `tryNow`). Queues nothing: what is
   * left is the caller's to `queue()`.
   */
  sendNow(chunk: Buffer): number {
    return this.fd < 0 ? 0 : this.#trySendBytes(chunk)
  }

  /**
   * Sends `chunk` at once if nothing is queued or in flight (`trySend`, libuv's `uv_try_write`):
   * `undefined` when the kernel took all of it (nothing holds it past this call), else what is
   * left to queue (all of it on `EAGAIN` or an error: the ring's send then reports the error).
   */
  #trySend(chunk: Buffer): Buffer | undefined {
    const n = this.#trySendBytes(chunk)
    if (n === 0) return chunk
    return n === chunk.byteLength ? undefined : chunk.subarray(n)
  }

  /** `#trySend`'s count: the bytes the kernel took (0: none, or not tried). */
  #trySendBytes(chunk: Buffer): number {
    if (this.#sending || this.#queue.length > 0 || !tryNow(chunk.byteLength)) return 0
    const n = ring().trySend(this.fd, chunk)
    if (n <= 0) return 0
    this.bytesWritten += n
    return n
  }

  /** The queue's own arrays, before a write waits in them. */
  #waiting(): void {
    if (this.#queue === NONE) {
      this.#queue = []
      this.#callbacks = []
    }
  }

  #flush(): void {
    let bufs = this.#queue
    if (bufs.length <= IOV_MAX) {
      this.#inFlightCallbacks = this.#callbacks
      this.#queue = NONE
      this.#callbacks = NONE
    } else {
      // One sendmsg takes at most IOV_MAX buffers: the rest goes in the next one.
      bufs = this.#queue.splice(0, IOV_MAX)
      this.#inFlightCallbacks = this.#callbacks.splice(0, IOV_MAX)
    }
    this.#inFlight = bufs
    this.#sending = true
    const b = ring()
    const token = takeToken(Connection.#sent, this)
    try {
      if (bufs.length === 1) b.send(this.fd, bufs[0]!, token)
      else b.sendv(this.fd, bufs, token)
    } catch (e) {
      dropToken(token)
      queueMicrotask(() => this.#failSends(e as Error))
    }
  }

  #failSends(err: Error): void {
    this.#sending = false
    const cbs = [...this.#inFlightCallbacks, ...this.#callbacks]
    this.#inFlight = NONE
    this.#inFlightCallbacks = NONE
    this.#queue = NONE
    this.#callbacks = NONE
    this.#queuedBytes = 0
    for (const cb of cbs) cb(err)
  }

  #onSent(sent: number): void {
    const bufs = this.#inFlight
    const cbs = this.#inFlightCallbacks
    if (sent < 0) {
      this.#failSends(this.#closed ? closedError() : netErrno(sent, 'write'))
      return
    }
    this.bytesWritten += sent
    this.#queuedBytes -= sent
    // (Indexed loops here and below: `for...of` made an iterator per completion until this
    // was optimized, i.e. through a whole burst of new connections; issue 21.)
    if (sent < totalBytes(bufs)) {
      // A short send: what is left goes first, with what was queued meanwhile.
      const rest = unsent(bufs, sent)
      const done = bufs.length - rest.length
      this.#queue = rest.concat(this.#queue)
      this.#callbacks = cbs.slice(done).concat(this.#callbacks)
      for (let i = 0; i < done; i++) cbs[i]!()
      if (this.fd >= 0) this.#flush()
      else this.#failSends(closedError())
      return
    }
    this.#sending = false
    this.#inFlight = NONE
    this.#inFlightCallbacks = NONE
    for (let i = 0; i < cbs.length; i++) cbs[i]!()
    if (this.#queue.length > 0 && this.fd >= 0 && !this.#sending) this.#flush()
  }

  /** Ends our side (`shutdown(SHUT_WR)`) once every queued byte is sent. */
  end(cb?: WriteCallback): void {
    const shut = (err?: Error | null): void => {
      if (err || this.fd < 0) {
        cb?.(err)
        return
      }
      const token = takeToken((r) => {
        if (r < 0 && r !== ENOTCONN) cb?.(netErrno(r, 'shutdown'))
        else cb?.()
      })
      try {
        ring().shutdown(this.fd, 1, token)
      } catch (e) {
        dropToken(token)
        cb?.(e as Error)
      }
    }
    if (this.#sending || this.#queue.length > 0) this.write(Buffer.alloc(0), shut)
    else shut()
  }

  /**
   * Stops receiving and closes the socket. Writes not yet taken by the kernel fail with
   * `ERR_SOCKET_CLOSED`; a send in flight is cancelled (what the kernel took of it may still
   * go out) and fails with `ERR_SOCKET_CLOSED`. `reset`:
   * send a reset instead of a FIN (`SO_LINGER` 0).
   */
  close(then?: () => void, reset = false): void {
    if (this.#closed) {
      then?.()
      return
    }
    this.#closed = true
    counters.sockets--
    const fd = this.fd
    this.#reading = false
    this.#cancelRecv()
    this.fd = -1
    // The stream id goes when the receive posted its last event (its cancel), or now.
    if (this.#stream >= 0 && this.#recvKey < 0) closeStream(this.#stream)
    const cbs = this.#callbacks
    this.#queue = NONE
    this.#callbacks = NONE
    if (!this.#sending) this.#queuedBytes = 0
    // The error only for writes still queued: most closes have none, and an Error captures
    // a stack trace (a third of a Socket's close, at 1,000 closing at once: docs/net.md,
    // "The p99 at 16 KiB x 1,000 connections, by cause").
    if (cbs.length > 0) {
      const err = closedError()
      for (const cb of cbs) cb(err)
    }
    if (reset) ring().setLingerReset(fd)
    if (this.#sending) {
      // A send in flight would outlive a close: it holds the file, and with a peer that
      // stopped reading it waits for room for good (the process never goes idle). node:net's
      // close cancels its pending writes, whose callbacks run before the close's: so here the
      // send is cancelled and the descriptor closed once the send has ended (`#sent`).
      let cancelling = true
      try {
        ring().cancelFd(fd)
      } catch {
        cancelling = false // the ring cannot take the cancel: close now, as before
      }
      if (cancelling) {
        closesAfterSend.set(this, () => {
          closesAfterSend.delete(this)
          closeFd(fd, then)
        })
        return
      }
    }
    closeFd(fd, then)
  }
}

/**
 * The closes waiting for their connection's send in flight to end (`Connection.close`): rare,
 * so a side table rather than a field on every connection.
 */
const closesAfterSend = new WeakMap<Connection, () => void>()

function closedError(): Error {
  return Object.assign(new Error('The socket is closed'), { code: 'ERR_SOCKET_CLOSED' })
}

function noop(): void {}

/** The empty list every connection shares until it needs one of its own (never pushed to). */
const NONE: never[] = []

/** The part of `bufs` not yet sent after `sent` bytes. */
function unsent(bufs: Buffer[], sent: number): Buffer[] {
  let i = 0
  while (i < bufs.length && sent >= bufs[i]!.byteLength) sent -= bufs[i++]!.byteLength
  const rest = bufs.slice(i)
  if (rest.length > 0 && sent > 0) rest[0] = rest[0]!.subarray(sent)
  return rest
}

/** Where to connect. */
export type ConnectAddress =
  | { readonly host: string; readonly port: number; readonly family: 4 | 6 }
  | { readonly path: string }

/** The bytes of `chunks`, together. */
function totalBytes(chunks: readonly Buffer[]): number {
  let n = 0
  for (let i = 0; i < chunks.length; i++) n += chunks[i]!.byteLength
  return n
}
