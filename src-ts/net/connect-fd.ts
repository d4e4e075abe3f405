/**
 * Connecting a new stream socket on the ring (the `connect` of `Socket` and of `dial()`); out
 * of net/connection.ts to keep that file to the `Connection` itself.
 * @module
 */
import { ring } from '../binding.js'
import { ECONNREFUSED, EINPROGRESS, EINVAL } from '../errno.js'
import { AbortError } from '../errors.js'
import { CONNECT_SCOPES_LINK_LOCAL } from '../node-facts.js'
import { submit } from '../submit.js'
import { unixName } from './args.js'
import { type ConnectAddress, closeFd } from './connection.js'
import { netErrno, withHostPort } from './net-errors.js'

/**
 * The errors of connects that the kernel refused at once (`connect(2)` itself failed): they
 * name the socket's own address already, and node:net gives them no `localAddress`/`localPort`.
 */
export const connectedAtOnce: WeakSet<Error> = new WeakSet()

/**
 * Opens a socket and connects it; resolves with the connected descriptor, rejects with Node's
 * error (`connect ECONNREFUSED 127.0.0.1:1`, with `address` and `port`), or `AbortError` when
 * `signal` aborts (the connect is cancelled in the kernel, the socket closed). `onAttempt` is
 * called once the socket is set up (bound), right before it connects.
 */
export async function connectFd(
  to: ConnectAddress,
  local?: { readonly address?: string | undefined; readonly port?: number | undefined },
  signal?: AbortSignal | null,
  onAttempt?: () => void
): Promise<number> {
  const b = ring()
  // A Unix path longer than sun_path: refused on Node 23+, cut on Node 20 and 22 (args.ts unixName);
  // errors name the path as given, as node:net's do.
  const name = 'path' in to ? unixName(to.path) : undefined
  if ('path' in to && name === undefined) throw withHostPort(EINVAL, 'connect', to.path)
  const fd = b.streamSocket('path' in to ? 0 : to.family)
  if (fd < 0) throw netErrno(fd, 'socket')
  try {
    if (!('path' in to) && local !== undefined && (local.address !== undefined || local.port !== undefined)) {
      const address = local.address ?? (to.family === 6 ? '::' : '0.0.0.0')
      const r = b.tcpBind(fd, address, local.port ?? 0)
      if (r < 0) throw withHostPort(r, 'bind', address, local.port ?? 0)
    }
    // The attempt starts here (node:net's 'connectionAttempt': after the bind, before connect).
    onAttempt?.()
    if ('path' in to) {
      // libuv reports every error of a Unix connect a turn later, as the ring does.
      await submit(
        (bb, t) => bb.unixConnect(fd, name as string, t),
        (r) => {
          if (r < 0) throw withHostPort(r, 'connect', to.path)
        },
        signal
      )
      return fd
    }
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
    // connect(2) now, as libuv's uv__tcp_connect: an error the kernel gives at once (but
    // ECONNREFUSED, which libuv reports a turn later as the handshake's) is node:net's
    // `connect ENETUNREACH 224.0.0.1:80 - Local (0.0.0.0:0)`, naming the socket's own address
    // (internalConnect); the handshake's errors are not.
    const r = b.tcpConnectNow(fd, to.host, to.port, CONNECT_SCOPES_LINK_LOCAL)
    if (r < 0 && r !== EINPROGRESS && r !== ECONNREFUSED) {
      const own = b.socketAddress(fd, false)
      const err = withHostPort(r, 'connect', to.host, to.port)
      err.message += ` - Local (${own?.address}:${own?.port})`
      connectedAtOnce.add(err)
      throw err
    }
    // (Read by connect(2) already: SO_ERROR no longer holds it.)
    if (r === ECONNREFUSED) throw withHostPort(r, 'connect', to.host, to.port)
    if (r < 0) {
      await submit(
        (bb, t) => bb.connectWait(fd, t),
        (r) => {
          if (r < 0) throw withHostPort(r, 'connect', to.host, to.port)
        },
        signal
      )
    }
    return fd
  } catch (e) {
    closeFd(fd)
    throw e
  }
}
