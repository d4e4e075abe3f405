/**
 * Connecting a new stream socket on the ring (the `connect` of `Socket` and of `dial()`); out
 * of net/connection.ts to keep that file to the `Connection` itself.
 * @module
 */
import { ring } from '../binding.js'
import { EINVAL } from '../errno.js'
import { submit } from '../submit.js'
import { unixName } from './args.js'
import { type ConnectAddress, closeFd } from './connection.js'
import { netErrno, withHostPort } from './net-errors.js'

/**
 * Opens a socket and connects it; resolves with the connected descriptor, rejects with Node's
 * error (`connect ECONNREFUSED 127.0.0.1:1`, with `address` and `port`), or `AbortError` when
 * `signal` aborts (the connect is cancelled in the kernel, the socket closed).
 */
export async function connectFd(
  to: ConnectAddress,
  local?: { readonly address?: string | undefined; readonly port?: number | undefined },
  signal?: AbortSignal | null
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
    await submit(
      (bb, t) => ('path' in to ? bb.unixConnect(fd, name as string, t) : bb.tcpConnect(fd, to.host, to.port, t)),
      (r) => {
        if (r < 0)
          throw 'path' in to ? withHostPort(r, 'connect', to.path) : withHostPort(r, 'connect', to.host, to.port)
      },
      signal
    )
    return fd
  } catch (e) {
    closeFd(fd)
    throw e
  }
}
