/**
 * `boros/net`: a `node:net`-shaped socket API on io_uring (TCP over IPv4 and IPv6, Unix stream
 * sockets): `createServer`, `Server`, `Socket` (a `stream.Duplex`), `connect` /
 * `createConnection`, `isIP*`; plus a lower-level API without streams: `listen()` (an async
 * iterator of connections), `dial()`, `Conn`.
 *
 * Where io_uring cannot be used (see `runtime().fallbackReason`), the node:net names here
 * are node:net's own functions and classes, and `listen`/`dial` run on node:net sockets.
 * @module
 */
import * as nodeNet from 'node:net'
import { usesRing } from '../binding.js'
import { type Callback, normalizeArgs } from './args.js'
import { type ListenOptions, Server as RingServer, type ServerOptions } from './server.js'
import { kNormalized, Socket as RingSocket, type SocketConnectOptions, type SocketOptions } from './socket.js'

export type { CallOptions, ConnListenOptions, ConnOptions, DialOptions } from './conn.js'
export { Conn, ConnListener, dial, listen } from './conn.js'
export type { NetError } from './net-errors.js'
export type { ListenOptions, ServerOptions, SocketConnectOptions, SocketOptions }

const onRing = usesRing()

function ringCreateServer(connectionListener?: (socket: RingSocket) => void): RingServer
function ringCreateServer(options?: ServerOptions, connectionListener?: (socket: RingSocket) => void): RingServer
function ringCreateServer(options?: ServerOptions | Callback, listener?: Callback): RingServer {
  return new RingServer(options as ServerOptions, listener)
}

function ringConnect(options: SocketConnectOptions, connectionListener?: () => void): RingSocket
function ringConnect(port: number, host: string, connectionListener?: () => void): RingSocket
function ringConnect(port: number, connectionListener?: () => void): RingSocket
function ringConnect(path: string, connectionListener?: () => void): RingSocket
function ringConnect(...args: unknown[]): RingSocket {
  const normalized = _normalizeArgs(args)
  const options = normalized[0] as SocketOptions & { timeout?: number }
  const socket = new RingSocket(options)
  if (options.timeout) socket.setTimeout(options.timeout)
  return socket.connect(normalized as unknown as SocketConnectOptions)
}

/**
 * A class that can also be called without `new`, as node:net's function-style `Socket` and
 * `Server` can (`net.Socket()`); `instanceof`, `extends` and the prototype are the class's.
 */
function callable<C extends abstract new (...args: any[]) => object>(
  cls: C
): C & ((...args: ConstructorParameters<C>) => InstanceType<C>) {
  return new Proxy(cls, {
    apply(target, _this, args) {
      return Reflect.construct(target, args)
    }
  }) as C & ((...args: ConstructorParameters<C>) => InstanceType<C>)
}

/** node:net's `Socket` (the ring's, or node:net's own on the fallback backend). */
export const Socket: typeof RingSocket & ((options?: SocketOptions) => RingSocket) = onRing
  ? callable(RingSocket)
  : (nodeNet.Socket as unknown as typeof RingSocket & ((options?: SocketOptions) => RingSocket))
export type Socket = RingSocket
/** The same as `Socket` (node:net's old name). */
export const Stream: typeof Socket = Socket
export type Stream = RingSocket
/** node:net's `Server`. */
export const Server: typeof RingServer & ((options?: ServerOptions | Callback, listener?: Callback) => RingServer) =
  onRing
    ? callable(RingServer)
    : (nodeNet.Server as unknown as typeof RingServer &
        ((options?: ServerOptions | Callback, listener?: Callback) => RingServer))
export type Server = RingServer
/**
 * node:net's `_normalizeArgs`: `[options, callback]` from `(options[, cb])`, `(path[, cb])`,
 * `(port[, host][, cb])`; `socket.connect()` takes the array it returns as is.
 */
export function _normalizeArgs(
  args: readonly unknown[]
): [Record<string, unknown>, ((...a: unknown[]) => unknown) | null] {
  if (!onRing) return (nodeNet as any)._normalizeArgs(args)
  const out = normalizeArgs(args) as [Record<string, unknown>, ((...a: unknown[]) => unknown) | null]
  ;(out as any)[kNormalized] = true
  return out
}
/** `createServer([options][, connectionListener])`. */
export const createServer: typeof ringCreateServer = onRing
  ? ringCreateServer
  : (nodeNet.createServer as unknown as typeof ringCreateServer)
/** `connect(options[, cb])`, `connect(path[, cb])`, `connect(port[, host][, cb])`. */
export const connect: typeof ringConnect = onRing ? ringConnect : (nodeNet.connect as unknown as typeof ringConnect)
/** The same as `connect`. */
export const createConnection: typeof ringConnect = connect
/** Which backend `boros/net` uses on this thread: `'io_uring'` or `'node:net'`. */
export const backend: 'io_uring' | 'node:net' = onRing ? 'io_uring' : 'node:net'

export const { isIP, isIPv4, isIPv6, BlockList, SocketAddress } = nodeNet
export const getDefaultAutoSelectFamily = (nodeNet as any).getDefaultAutoSelectFamily as () => boolean
export const setDefaultAutoSelectFamily = (nodeNet as any).setDefaultAutoSelectFamily as (v: boolean) => void
export const getDefaultAutoSelectFamilyAttemptTimeout = (nodeNet as any)
  .getDefaultAutoSelectFamilyAttemptTimeout as () => number
export const setDefaultAutoSelectFamilyAttemptTimeout = (nodeNet as any).setDefaultAutoSelectFamilyAttemptTimeout as (
  v: number
) => void
