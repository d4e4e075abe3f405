/**
 * The node:net-compatibility pieces of `Socket` that need none of its state (split from
 * net/socket.ts, issue 19): its option types, `setKeepAlive`'s arguments, writes after the
 * peer's end, the marks of normalized `connect()` arguments, what the running Node supports.
 * @module
 */
import * as nodeNet from 'node:net'
import { Duplex, Writable } from 'node:stream'
import { ring } from '../binding.js'
import { isUint8Array } from 'node:util/types'
import { invalidArgType, invalidArgValue } from '../errors.js'
import type { UserReadCb } from './adopt.js'
import { validateNumber } from './args.js'

/** Options of `new Socket()` (node:net's). */
export interface SocketOptions {
  /** A connected stream socket (TCP or Unix) to adopt; a pipe descriptor gets node:net's own Socket. */
  readonly fd?: number
  /** Received bytes are copied into `buffer` (or one `buffer()` returns) and given to `callback`; no `'data'`. */
  readonly onread?: {
    buffer: Uint8Array | (() => Uint8Array)
    callback: (bytes: number, buf: Uint8Array) => boolean | undefined
  }
  /** Keep our side open after the peer ended its side (default false: end it too). */
  readonly allowHalfOpen?: boolean
  /** Destroys the socket (with `AbortError`) when aborted. */
  readonly signal?: AbortSignal
  /** `TCP_NODELAY` once connected. */
  readonly noDelay?: boolean
  /** `SO_KEEPALIVE` once connected. */
  readonly keepAlive?: boolean
  /** Milliseconds before the first keep-alive probe. */
  readonly keepAliveInitialDelay?: number
  readonly highWaterMark?: number
  readonly readableHighWaterMark?: number
  readonly writableHighWaterMark?: number
}

/** Options of `connect()`: node:net's TCP or Unix-socket connect options. */
export type SocketConnectOptions = nodeNet.SocketConnectOpts & {
  /** Connections to addresses it blocks fail with `ERR_IP_BLOCKED` (Node 22.13+ / 23.4+). */
  readonly blockList?: nodeNet.BlockList
}

/** `new Socket(options, kAccepted, fd, pauseOnConnect)`: how a `Server` hands an accepted connection over. */
export const kAccepted: unique symbol = Symbol('boros.net.accepted')

/**
 * The options an accepted socket is made with, whole: the stream options `new Socket()` would
 * build from them (node:net's `onconnection` options plus what its `Socket` adds) and the
 * descriptor options a server gives its sockets. A server makes one and hands the same object
 * to every socket it accepts while its settings stay the same (`Duplex` only reads it): no
 * option object per accepted connection (issue 21, 10,000 idle connections).
 */
export interface AcceptOptions {
  readonly allowHalfOpen: boolean
  readonly noDelay: boolean
  readonly keepAlive: boolean
  readonly keepAliveInitialDelay: number
  readonly highWaterMark: number | undefined
  /**
   * The descriptor comes with `TCP_NODELAY` on: inherited from its listening socket, on which
   * the server set it when it listened with `noDelay` (Linux copies the option to every socket
   * accepted from it), so the accept needs no `setsockopt(2)` of its own for `noDelay` true.
   */
  readonly noDelayInherited: boolean
  readonly emitClose: false
  readonly autoDestroy: true
  readonly decodeStrings: false
}

/** The `Duplex` options every `Socket` has, whoever makes it (node:net's `Socket` sets the same). */
const SOCKET_STREAM = { emitClose: false, autoDestroy: true, decodeStrings: false } as const

/** {@link AcceptOptions} from a server's settings (defaults: node:net's). */
export function acceptOptions(o: {
  readonly allowHalfOpen?: boolean
  readonly noDelay?: boolean
  readonly keepAlive?: boolean
  readonly keepAliveInitialDelay?: number
  readonly highWaterMark?: number
  readonly noDelayInherited?: boolean
}): AcceptOptions {
  return {
    allowHalfOpen: Boolean(o.allowHalfOpen),
    noDelay: Boolean(o.noDelay),
    noDelayInherited: Boolean(o.noDelayInherited),
    keepAlive: Boolean(o.keepAlive),
    keepAliveInitialDelay: o.keepAliveInitialDelay ?? 0,
    highWaterMark: o.highWaterMark,
    ...SOCKET_STREAM
  }
}
/** Called once when an accepted socket is destroyed (the server's count). */
export const kOnDestroy = Symbol('boros.net.onDestroy')

export interface Address {
  address?: string
  family?: string
  port?: number
}

export type WriteCb = (err?: Error | null) => void

/** `[enable, initialDelay s, interval s, count]` of `setKeepAlive()`. */
export type KeepAlive = [boolean, number, number | undefined, number | undefined]

/** Whether the running Node's `setKeepAlive` takes an interval, a count and an options object (24.x). */
const KEEPALIVE_EX = nodeNet.Socket.prototype.setKeepAlive.length > 2

export function setKeepAlive(fd: number, [on, delay, interval, count]: KeepAlive): void {
  const n = (v: number | undefined): number | undefined =>
    typeof v === 'number' && v > 0 && Number.isFinite(v) ? Math.min(v, 0x7fffffff) : undefined
  ring().setKeepAlive(fd, on, n(delay) ?? 0, n(interval), n(count))
}

const OBJECT_MODES = ['objectMode', 'readableObjectMode', 'writableObjectMode'] as const

/** The checks node:net makes of `new Socket()`'s options before anything else (and ours: no `handle`). */
export function checkSocketOptions(options: SocketOptions): void {
  // (Indexed, not `for...of` over a new array: no garbage per `new Socket()`.)
  for (let i = 0; i < OBJECT_MODES.length; i++) {
    const v = (options as Record<string, unknown>)[OBJECT_MODES[i]!]
    if (v) throw invalidArgValue(`options.${OBJECT_MODES[i]}`, v, 'is not supported')
  }
  if (options.keepAliveInitialDelay !== undefined) {
    validateNumber(options.keepAliveInitialDelay, 'options.keepAliveInitialDelay')
  }
  const handle = (options as { handle?: unknown }).handle
  if (handle) {
    throw invalidArgValue(
      'options.handle',
      handle,
      'is not supported by boros/net (a libuv handle; use node:net for it)'
    )
  }
}

/** `Duplex`'s options for a `Socket` made by the user: one copy of theirs, as node:net's (the signal is added after). */
export function streamOptions(options: SocketOptions): object {
  return {
    ...options,
    signal: undefined,
    allowHalfOpen: Boolean(options.allowHalfOpen),
    ...SOCKET_STREAM
  }
}

/** `options.blockList`, checked (Node 22.13+ / 23.4+; undefined when not given or not supported). */
export function socketBlockList(options: SocketOptions): nodeNet.BlockList | undefined {
  const blockList = (options as { blockList?: unknown }).blockList
  if (!HAS_BLOCK_LIST || !blockList) return undefined
  if (!(nodeNet as any).BlockList.isBlockList(blockList))
    throw invalidArgType('options.blockList', 'an net.BlockList', blockList)
  return blockList as nodeNet.BlockList
}

/** node:net's `onread` option when it is usable (a buffer or a function giving one, and a callback), else undefined. */
export function onreadOption(
  options: SocketOptions
): { buffer: Uint8Array | (() => Uint8Array); callback: UserReadCb } | undefined {
  const onread = (options as { onread?: unknown }).onread as { buffer?: unknown; callback?: unknown } | null | undefined
  if (
    onread !== null &&
    typeof onread === 'object' &&
    (isUint8Array(onread.buffer) || typeof onread.buffer === 'function') &&
    typeof onread.callback === 'function'
  ) {
    return { buffer: onread.buffer as Uint8Array | (() => Uint8Array), callback: onread.callback as UserReadCb }
  }
  return undefined
}

/** `setKeepAlive(enable, initialDelay)` (and on Node 24, interval, count, or the options object). */
export function keepAliveArgs(args: unknown[]): KeepAlive {
  let [enable, initialDelay, interval, count] = args as [unknown, unknown, unknown, unknown]
  if (KEEPALIVE_EX && enable !== null && typeof enable === 'object') {
    const o = enable as Record<string, unknown>
    ;[enable, initialDelay, interval, count] = [o.enable, o.initialDelay, o.interval, o.count]
  }
  if (!KEEPALIVE_EX) interval = count = undefined
  return [
    Boolean(enable),
    ~~((initialDelay as number) / 1000),
    interval === undefined ? undefined : ~~((interval as number) / 1000),
    count as number | undefined
  ]
}

/** Whether the running Node has `blockList` on sockets and servers (22.13+ / 23.4+). */
export const HAS_BLOCK_LIST = ((): boolean => {
  try {
    new nodeNet.Socket({ blockList: 1 } as any).destroy()
    return false
  } catch {
    return true
  }
})()

/** An array `_normalizeArgs` made (ours, or node:net's own): `connect()` takes it as is. */
/** node:net's own mark (so arrays from either module's `_normalizeArgs` are equal and interchangeable). */
export const kNormalized: symbol =
  Object.getOwnPropertySymbols((nodeNet as any)._normalizeArgs?.([]) ?? [])[0] ?? Symbol('normalizedArgs')
export function isNormalized(a: unknown): boolean {
  return Array.isArray(a) && (a as any)[kNormalized] === true
}

export function toBuffer(chunk: unknown, encoding: BufferEncoding): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding)
  if (Buffer.isBuffer(chunk)) return chunk
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw invalidArgType('chunk', 'of type string or an instance of Buffer, TypedArray, or DataView', chunk)
}

/**
 * Whether the running Node's Writable owes nothing for a write its `_write` completed before
 * returning, even one at or over the high-water mark: `write()` returns true, and no `'drain'`
 * (nor any tick) follows. Writable computes the return after `_write` on the releases seen
 * (20.20, 24.22, 26.12); one that computed it before would return false and emit `'drain'` a
 * tick later. Asked of the running Node itself, once, on the first such write.
 */
export function syncWriteOwesNoDrain(): boolean {
  if (owesNoDrain === undefined) {
    const w = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, cb) => cb() })
    owesNoDrain = w.write(Buffer.alloc(1)) && !w.writableNeedDrain
  }
  return owesNoDrain
}
let owesNoDrain: boolean | undefined

export function onReadableStreamEnd(this: Duplex & { allowHalfOpen: boolean }): void {
  if (!this.allowHalfOpen) this.write = writeAfterFIN as any
}

function writeAfterFIN(this: Duplex, chunk: any, encoding?: any, cb?: any): boolean {
  if (!this.writableEnded) return Duplex.prototype.write.call(this, chunk, encoding, cb)
  if (typeof encoding === 'function') cb = encoding
  const er = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' })
  if (typeof cb === 'function') process.nextTick(cb, er)
  this.destroy(er)
  return false
}
