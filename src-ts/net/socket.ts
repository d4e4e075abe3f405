/**
 * `Socket`: node:net's socket as a `stream.Duplex` on the ring. Receiving is a multishot recv
 * armed while the readable side wants data and cancelled when `push()` says stop (so a paused
 * or slow reader leaves the bytes in the kernel: real backpressure); writes go out through
 * `Connection` (one `send`, or one `sendmsg` for everything Writable buffered meanwhile).
 * What the socket reports and the options it keeps for its descriptor (addresses, counters,
 * no-delay, keep-alive, type of service, ref) are its base class's: net/socket-props.ts.
 * @module
 */
import * as nodeNet from 'node:net'
import { addAbortSignal } from 'node:stream'
import { ECANCELED, EINVAL } from '../errno.js'
import { codedError, invalidArgType } from '../errors.js'
import { CANCELLED_WRITE_GETS_ERROR } from '../node-facts.js'
import { adoptable, UserRead } from './adopt.js'
import {
  type Callback,
  connectTarget,
  normalizeArgs,
  timerDuration,
  unixName,
  validateAbortSignal,
  validateFunction,
  validateInt32
} from './args.js'
import { type ConnectAddress, Connection, type ConnectionEvents } from './connection.js'
import { netErrno, withHostPort } from './net-errors.js'
import { attemptConnect, type LocalAddress, lookupAndConnect } from './socket-connect.js'
import {
  type AcceptOptions,
  checkSocketOptions,
  isNormalized,
  kAccepted,
  kOnDestroy,
  onReadableStreamEnd,
  onreadOption,
  type SocketConnectOptions,
  type SocketOptions,
  socketBlockList,
  streamOptions,
  syncWriteOwesNoDrain,
  toBuffer,
  type WriteCb
} from './socket-compat.js'
import { kAttached, kClosing, kConn, kHeld, kInitProps, kReopen, SocketProps } from './socket-props.js'

export {
  type AcceptOptions,
  acceptOptions,
  HAS_BLOCK_LIST,
  kAccepted,
  kNormalized,
  kOnDestroy,
  type SocketConnectOptions,
  type SocketOptions
} from './socket-compat.js'

const kData: unique symbol = Symbol('boros.net.data')

/**
 * A write `write()`'s shortcut sent part of, on its way through Writable to `_write` (which
 * Writable calls before `write()` returns), and the bytes sent. Module state, not two fields
 * per socket: it lives only within that one call (issue 21, memory per connection).
 */
let sentChunk: Buffer | undefined
let sentBytes = 0
const kEnd: unique symbol = Symbol('boros.net.end')

/**
 * Every socket's connection events: one object for all of them, its methods finding the socket
 * in the connection's `owner` (three closures and their context per socket before, then a
 * `SocketEvents` object of 32 B per socket holding it: issue 21, memory per connection, and
 * the thirteenth round).
 */
const SOCKET_EVENTS: ConnectionEvents = {
  onData(chunk: Buffer, conn: Connection): void {
    ;(conn.owner as Socket)[kData](chunk)
  },
  onEnd(conn: Connection): void {
    ;(conn.owner as Socket)[kEnd]()
  },
  onError(err: Error, conn: Connection): void {
    ;(conn.owner as Socket).destroy(err)
  }
}

/**
 * What a `Socket` needs only when it connects, is reset, or reads into a user's buffer: one
 * object made on first use, not four fields on every socket (an accepted socket never makes
 * it; issue 21, thirteenth round).
 */
class SocketRare {
  /** Aborts the connect under way. */
  connectAbort: AbortController | undefined = undefined
  /** The host name given to `connect()` (`_host`). */
  host: string | null = null
  /** `resetAndDestroy()`: the close sends a reset. */
  reset = false
  /** The peer's end came while the `onread` callback had stopped reading: given on resume. */
  endHeld = false
}

/** node:net's `Socket`, on io_uring. */
export class Socket extends SocketProps {
  /** Whether a connect is under way. */
  override connecting = false
  // `timeout`, `autoSelectFamilyAttemptedAddresses` and `blockList` are declared only: not own
  // properties until set, as on node:net's sockets (and no field on every socket: issue 21,
  // thirteenth round).
  /** The value given to the last `setTimeout()`. */
  declare timeout: number | undefined
  /** Whether the writable side stays open after the peer's end. */
  override allowHalfOpen = false
  /** Addresses tried by the last `autoSelectFamily` connect (`'ip:port'`), when there were several. */
  declare autoSelectFamilyAttemptedAddresses: string[] | undefined
  /** Connections to addresses it blocks are refused with `ERR_IP_BLOCKED` (Node 22.13+/23.4+). */
  declare blockList: nodeNet.BlockList | undefined;
  /** @internal */
  [kOnDestroy]: (() => void) | undefined
  #conn: Connection | undefined
  #timer: NodeJS.Timeout | undefined
  /** node:net's `onread` option: received bytes go to the user's buffer and callback. */
  #userRead: UserRead | undefined
  /** See {@link SocketRare}: made by `#more()`. */
  #rare: SocketRare | undefined

  #more(): SocketRare {
    if (this.#rare === undefined) this.#rare = new SocketRare()
    return this.#rare
  }

  /** @internal an accepted connection (a `Server`'s, or an upgraded HTTP connection's). */
  constructor(options: AcceptOptions, accepted: typeof kAccepted, fd: number, pauseOnConnect: boolean)
  constructor(options?: SocketOptions | number)
  // biome-ignore lint/correctness/noUnreachableSuper: the one early return hands a pipe descriptor to node:net's Socket
  constructor(
    options: SocketOptions | AcceptOptions | number = {},
    accepted?: symbol,
    fd = -1,
    pauseOnConnect = false
  ) {
    // An accepted connection comes with its options whole (a server's one object for all its
    // sockets: see `AcceptOptions`): nothing to check, copy or build per connection.
    const user = accepted !== kAccepted
    // node:net's legacy form: new Socket(fd).
    if (typeof options === 'number') options = { fd: options }
    options ??= {}
    let adopt: number | undefined
    let blockList: nodeNet.BlockList | undefined
    if (user) {
      const o = options as SocketOptions
      checkSocketOptions(o)
      // A descriptor to adopt: checked as node:net's createHandle checks it (ERR_INVALID_FD_TYPE
      // unless it is a stream socket); a pipe or FIFO is served by node:net's own Socket.
      const fdKind = o.fd === undefined ? undefined : adoptable(o.fd)
      if (fdKind === 'pipe') {
        // biome-ignore lint/correctness/noConstructorReturn: a pipe descriptor is node:net's (libuv's pipe handle)
        return new nodeNet.Socket(o as nodeNet.SocketConstructorOpts) as unknown as Socket
      }
      adopt = fdKind
      blockList = socketBlockList(o)
    }
    super(user ? streamOptions(options as SocketOptions) : options)
    this.allowHalfOpen = Boolean(options.allowHalfOpen)
    if (blockList !== undefined) this.blockList = blockList
    this[kInitProps](options)
    this.on('end', onReadableStreamEnd)
    // Readable's "read more" (after every push, a nextTick that calls read(0) so that a source
    // giving one chunk per `_read()` is asked for the next) has nothing to do here: the multishot
    // receive pushes on its own until `push()` says stop. Marked as under way for good, it is
    // never scheduled: one tick and one `read(0)` less per delivery, the whole of a turn's tick
    // queue when nothing else waits (docs/net.md, "One connection"). Node's own push-fed
    // streams set the same flag (IncomingMessage, Http2Stream).
    ;(this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = true
    if (!user) {
      this.#attach(fd, (options as AcceptOptions).noDelayInherited)
      // pauseOnConnect: nothing is received until the user reads.
      if (pauseOnConnect) (this as any).readableFlowing = false
      else this.read(0)
      return
    }
    const o = options as SocketOptions
    const onread = onreadOption(o)
    if (onread !== undefined) this.#userRead = new UserRead(onread.buffer, onread.callback.bind(this))
    const signal = o.signal
    if (signal) {
      // (node:net's Duplex checks it first, under the name 'signal'.)
      validateAbortSignal(signal, 'signal')
      addAbortSignal(signal, this)
    }
    if (adopt !== undefined) {
      // An adopted connected socket: receiving starts at once, as node:net's does with a handle.
      this.#attach(adopt)
      const a = o as { readable?: boolean; pauseOnCreate?: boolean; manualStart?: boolean }
      if (a.readable !== false) {
        if (a.pauseOnCreate) (this as any).readableFlowing = false
        else if (!a.manualStart) this.read(0)
      }
    }
  }

  /** @internal the connected descriptor becomes this socket's connection. */
  #attach(fd: number, noDelayInherited = false): void {
    const conn = new Connection(fd, SOCKET_EVENTS, this)
    this.#conn = conn
    this[kAttached](conn, noDelayInherited)
  }

  /** @internal the connection, for {@link SocketProps}. */
  [kConn](): Connection | undefined {
    return this.#conn
  }

  /** @internal bytes received (through `SOCKET_EVENTS`). */
  [kData](chunk: Buffer): void {
    this.#activity()
    const user = this.#userRead
    if (user !== undefined) {
      if (!user.deliver(chunk)) this.#conn?.pause()
    } else if (!this.push(chunk)) this.#conn?.pause()
  }

  /** @internal the peer's end (through `SOCKET_EVENTS`). */
  [kEnd](): void {
    // libuv does not read while an `onread` callback has stopped it, so node:net sees the
    // end only after resume(); here it can come with bytes already received: keep it.
    if (this.#userRead?.stopped) {
      this.#more().endHeld = true
      return
    }
    this.push(null)
    this.read(0)
  }

  /**
   * node:net's `onread` (a user buffer): no `'data'`; `read()`/`resume()` start receiving again
   * after the callback returned false.
   */
  override read(n?: number): any {
    if (this.#userRead !== undefined) this.#userResume()
    return super.read(n)
  }

  override resume(): this {
    if (this.#userRead !== undefined) this.#userResume()
    return super.resume()
  }

  override pause(): this {
    const conn = this.#conn
    if (this.#userRead !== undefined && !this.connecting && conn !== undefined) {
      this.#userRead.stop()
      if (conn.reading) conn.pause()
    }
    return super.pause()
  }

  #userResume(): void {
    const conn = this.#conn
    if (this.connecting || conn === undefined || conn.fd < 0) return
    // Bytes of a round the callback stopped in the middle of come first, then a held end.
    if (!this.#userRead!.flush()) return
    const rare = this.#rare
    if (rare?.endHeld) {
      rare.endHeld = false
      this.push(null)
    } else if (!conn.reading) conn.resume()
  }

  #activity(): void {
    this.#timer?.refresh()
  }

  /**
   * Connects: `connect(options[, cb])`, `connect(path[, cb])`, `connect(port[, host][, cb])`.
   * Host names go through `dns.lookup` (or `options.lookup`); with `autoSelectFamily` every
   * address is tried in turn (happy eyeballs).
   */
  connect(options: SocketConnectOptions, connectionListener?: () => void): this
  connect(port: number, host: string, connectionListener?: () => void): this
  connect(port: number, connectionListener?: () => void): this
  connect(path: string, connectionListener?: () => void): this
  connect(...args: unknown[]): this {
    const [options, cb] = isNormalized(args[0])
      ? (args[0] as [Record<string, any>, Callback | null])
      : normalizeArgs(args)
    if (this.write !== Socket.prototype.write) this.write = Socket.prototype.write
    if (this.destroyed) {
      // A closed socket connects again (node:net resets it the same way).
      ;(this as any)._undestroy()
      this[kReopen]()
      if (this.autoSelectFamilyAttemptedAddresses !== undefined) this.autoSelectFamilyAttemptedAddresses = undefined
    }
    if (this.#conn !== undefined || this.connecting) {
      throw codedError(Error, 'ERR_SOCKET_CONNECTING', 'Socket is already connecting or connected')
    }
    const target = connectTarget(options)
    let autoSelect: boolean = options.autoSelectFamily
    if (autoSelect != null && !('path' in target)) {
      if (typeof autoSelect !== 'boolean')
        throw invalidArgType('options.autoSelectFamily', 'of type boolean', autoSelect)
    } else autoSelect = (nodeNet as any).getDefaultAutoSelectFamily?.() ?? false
    let attemptTimeout: number = options.autoSelectFamilyAttemptTimeout
    if (attemptTimeout != null && !('path' in target)) {
      validateInt32(attemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1)
      if (attemptTimeout < 10) attemptTimeout = 10
    } else attemptTimeout = (nodeNet as any).getDefaultAutoSelectFamilyAttemptTimeout?.() ?? 250
    if (cb !== null) this.once('connect', cb)
    this.connecting = true
    const rare = this.#more()
    rare.connectAbort = new AbortController()
    if ('path' in target) {
      if (unixName(target.path) === undefined) {
        // Longer than sun_path on Node 23+: node:net's connect fails at once (libuv refuses
        // it before any syscall) and names the unbound socket's empty local address.
        const e = withHostPort(EINVAL, 'connect', target.path)
        e.message += ' - Local (undefined:undefined)'
        this.emit('connectionAttempt', target.path, undefined, undefined)
        this.destroy(e)
        return this
      }
      this.#attempt([{ path: target.path }], undefined, 0)
      return this
    }
    const local = { address: target.localAddress, port: target.localPort }
    rare.host = target.host
    const family = nodeNet.isIP(target.host)
    if (family !== 0) {
      // A tick later, as node:net's lookupAndConnect (its 'connectionAttempt' comes then).
      const abort = rare.connectAbort
      process.nextTick(() => {
        if (!abort.signal.aborted && this.connecting)
          this.#attempt([{ host: target.host, port: target.port, family: family as 4 | 6 }], local, 0)
      })
      return this
    }
    lookupAndConnect(this, options, target, local, autoSelect, attemptTimeout, (targets, timeout) =>
      this.#attempt(targets, local, timeout)
    )
    return this
  }

  /** Tries `targets` in turn; each but the last is given `timeout` ms (0: no limit). */
  #attempt(targets: ConnectAddress[], local: LocalAddress | undefined, timeout: number): void {
    attemptConnect(this, targets, local, timeout, this.#rare!.connectAbort!.signal, (fd) => this.#connected(fd))
  }

  #connected(fd: number): void {
    this.#attach(fd) // (and the type of service chosen while connecting)
    this.connecting = false
    this.#rare!.connectAbort = undefined
    this.#activity()
    this.emit('connect')
    this.emit('ready')
    if (!this.isPaused() || this.readableFlowing === null) this.read(0)
  }

  override _read(): void {
    if (this.connecting) {
      this.once('connect', () => this._read())
      return
    }
    this.#conn?.resume()
  }

  #writeGeneric(bufs: Buffer[], cb: WriteCb): void {
    if (this.connecting) {
      this[kHeld](bufs.reduce((n, b) => n + b.length, 0))
      const onClose = (): void =>
        cb(
          codedError(
            Error,
            'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
            'Socket closed before the connection was established'
          )
        )
      this.once('close', onClose)
      this.once('connect', () => {
        this.off('close', onClose)
        this[kHeld](undefined)
        this.#writeGeneric(bufs, cb)
      })
      return
    }
    const conn = this.#conn
    if (conn === undefined || conn.fd < 0) {
      cb(codedError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'))
      return
    }
    this.#activity()
    conn.writev(bufs, (err) => this.#written(err, cb))
  }

  /**
   * `Writable.write`, with a shortcut for its commonest call: a Buffer, no callback, nothing
   * else buffered, corked or in flight. When the kernel takes all of it at once
   * (`Connection.sendNow`, as `_write` would have), the write is over before it returns, as
   * node:net's `uv_try_write` makes it, and Writable has nothing left to do for it (no
   * callback, no `'drain'` owed, nothing counted): its bookkeeping is skipped (docs/net.md,
   * "One connection"). A write at or over the high-water mark takes the shortcut only where
   * the running Node's Writable also owes nothing for it (`syncWriteOwesNoDrain`). When the
   * kernel takes part of it, the whole write goes Writable's way (counted in `writableLength`
   * whole until it is sent, as node:net counts it) and `_write` sends what is left.
   */
  override write(chunk: any, encoding?: any, cb?: any): boolean {
    if (encoding === undefined && cb === undefined && Buffer.isBuffer(chunk)) {
      const sent = this.#writeNow(chunk)
      if (sent === chunk.byteLength) return true
      if (sent > 0) {
        sentChunk = chunk
        sentBytes = sent
        try {
          return super.write(chunk, encoding, cb)
        } finally {
          // (`_write` took it: Writable calls it at once for a write with nothing before it.)
          sentChunk = undefined
        }
      }
    }
    return super.write(chunk, encoding, cb)
  }

  /** `write()`'s shortcut: the bytes of `chunk` the kernel took at once (0: none, or not tried). */
  #writeNow(chunk: Buffer): number {
    const conn = this.#conn
    const n = chunk.byteLength
    if (
      conn === undefined ||
      this.connecting ||
      n === 0 ||
      (n >= this.writableHighWaterMark && !syncWriteOwesNoDrain()) ||
      this.writableLength !== 0 ||
      this.writableCorked !== 0 ||
      !this.writable ||
      this._write !== Socket.prototype._write
    )
      return 0
    const sent = conn.sendNow(chunk)
    if (sent > 0) this.#activity()
    return sent
  }

  /**
   * One write from Writable: sent at once when the kernel takes it (as `write()`'s shortcut,
   * with Writable's callback called before this returns, as node:net's `uv_try_write` does),
   * else what is left is queued for the ring's send. Writes made while connecting, on a closed
   * socket, or of no bytes take `#writeGeneric`.
   */
  override _write(chunk: string | ArrayBufferView, encoding: BufferEncoding, cb: WriteCb): void {
    const buf = toBuffer(chunk, encoding)
    const conn = this.#conn
    if (conn === undefined || this.connecting || conn.fd < 0 || buf.byteLength === 0) {
      this.#writeGeneric([buf], cb)
      return
    }
    // The bytes `write()`'s shortcut already sent of this very chunk, or a try now.
    const sent = buf === sentChunk ? sentBytes : conn.sendNow(buf)
    sentChunk = undefined
    this.#activity()
    if (sent === buf.byteLength) {
      cb()
      return
    }
    conn.queue(sent === 0 ? buf : buf.subarray(sent), (err) => this.#written(err, cb))
  }

  /**
   * A ring send's end, for Writable, as node:net's `onWriteComplete`: an error on a live socket
   * destroys it; a write that failed because the socket was destroyed (its send cancelled by
   * the close) reports `write ECANCELED` where node:net does, else no error.
   */
  #written(err: Error | null | undefined, cb: WriteCb): void {
    this.#activity()
    if (!err) cb()
    else if (!this.destroyed) {
      this.destroy(err)
      cb(err)
    } else if (CANCELLED_WRITE_GETS_ERROR) cb(netErrno(ECANCELED, 'write'))
    else cb()
  }

  override _writev(chunks: Array<{ chunk: string | ArrayBufferView; encoding: BufferEncoding }>, cb: WriteCb): void {
    this.#writeGeneric(
      chunks.map((c) => toBuffer(c.chunk, c.encoding)),
      cb
    )
  }

  override _final(cb: WriteCb): void {
    if (this.pending && this.connecting) {
      this.once('connect', () => this._final(cb))
      return
    }
    const conn = this.#conn
    if (conn === undefined || conn.fd < 0) {
      cb()
      return
    }
    conn.end(() => cb())
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.connecting) {
      this.connecting = false
      this.#rare?.connectAbort?.abort()
    }
    clearTimeout(this.#timer)
    const conn = this.#conn
    if (conn !== undefined) {
      this[kClosing](conn)
      const hadError = err != null
      const reset = this.#rare?.reset === true
      this.#conn = undefined
      conn.close(() => this.emit('close', hadError), reset)
      cb(err)
    } else {
      cb(err)
      // As a libuv handle's close callback: after the error, and after its microtasks.
      setImmediate(() => this.emit('close', err != null))
    }
    const hook = this[kOnDestroy]
    this[kOnDestroy] = undefined
    hook?.()
  }

  /** Ends our side, and destroys the socket once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end()
    if (this.writableFinished) this.destroy()
    else this.once('finish', () => this.destroy())
  }

  /** Closes the TCP connection with a reset (`RST`) instead of a FIN. */
  resetAndDestroy(): this {
    if (this.#conn !== undefined || this.connecting) {
      if (this.connecting) this.once('connect', () => this.#resetNow())
      else this.#resetNow()
    } else this.destroy(codedError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'))
    return this
  }

  #resetNow(): void {
    this.#more().reset = true
    this.destroy()
  }

  /** Emits `'timeout'` after `msecs` of inactivity (0 disables); `callback` is a once-listener. */
  setTimeout(msecs: number, callback?: () => void): this {
    if (this.destroyed) return this
    this.timeout = msecs
    const ms = timerDuration(msecs, 'msecs')
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (ms === 0) {
      if (callback !== undefined) {
        validateFunction(callback, 'callback')
        this.removeListener('timeout', callback)
      }
    } else {
      this.#timer = setTimeout(() => this.emit('timeout'), ms).unref()
      if (callback !== undefined) {
        validateFunction(callback, 'callback')
        this.once('timeout', callback)
      }
    }
    return this
  }

  /** The same as `connecting` (node:net's old name). */
  get _connecting(): boolean {
    return this.connecting
  }

  /** The host name this socket connects to. */
  get _host(): string | null | undefined {
    if (!(#conn in this)) return undefined
    const rare = this.#rare
    return rare === undefined ? null : rare.host
  }
}

// node:net defines the members socket-props.ts holds (addresses, counters, options) on
// Socket.prototype itself; the class inherits them from its base. Copied, so reflection on
// `Socket.prototype` (own descriptors, own keys) sees node's layout; the base keeps them too.
for (const key of Reflect.ownKeys(SocketProps.prototype)) {
  if (key === 'constructor' || typeof key === 'symbol' || Object.hasOwn(Socket.prototype, key)) continue
  Object.defineProperty(Socket.prototype, key, Object.getOwnPropertyDescriptor(SocketProps.prototype, key)!)
}
