/**
 * How a `Socket` connects (split from net/socket.ts, issue 19): the host name's lookup as
 * node:net's `lookupAndConnect` does it, and the attempts at each address in turn (happy
 * eyeballs with `autoSelectFamily`). They act on the socket through its public members only.
 * @module
 */
import type * as dns from 'node:dns'
import * as nodeNet from 'node:net'
import { codedError } from '../errors.js'
import { invalidIp, lazyDns, validateFunction } from './args.js'
import { connectedAtOnce, connectFd } from './connect-fd.js'
import { type ConnectAddress, Connection } from './connection.js'

/** The local end a connect binds to first. */
export interface LocalAddress {
  address?: string | undefined
  port?: number | undefined
}

/** What connecting needs of a `Socket`. */
export interface ConnectingSocket {
  connecting: boolean
  readonly destroyed: boolean
  autoSelectFamilyAttemptedAddresses: string[] | undefined
  blockList: nodeNet.BlockList | undefined
  emit(event: string, ...args: unknown[]): boolean
  destroy(err?: Error): unknown
}

/**
 * Looks `target.host` up (`options.lookup` or `dns.lookup`) and hands the addresses to
 * `attempt`: every address (interleaved by family, each tried for `attemptTimeout` ms) with
 * `autoSelect` and no local address, else the one address the lookup gives. Lookup failures
 * destroy the socket; `'lookup'` is emitted per address, as node:net does.
 */
export function lookupAndConnect(
  socket: ConnectingSocket,
  options: Record<string, any>,
  target: { host: string; port: number },
  local: LocalAddress,
  autoSelect: boolean,
  attemptTimeout: number,
  attempt: (targets: ConnectAddress[], timeout: number) => void
): void {
  if (options.lookup != null) validateFunction(options.lookup, 'options.lookup')
  const lookup = (options.lookup || lazyDns().lookup) as (...a: unknown[]) => void
  // As node:net's lookupAndConnect: ADDRCONFIG unless a family or hints are given; every
  // address (`all`) only with autoSelectFamily and no localAddress.
  const dnsFamily = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
  const dnsOptions: Record<string, unknown> = { family: dnsFamily, hints: options.hints || 0 }
  if (dnsFamily !== 4 && dnsFamily !== 6 && dnsOptions.hints === 0) dnsOptions.hints = lazyDns().ADDRCONFIG
  const fail = (e: Error): void => {
    process.nextTick(() => socket.destroy(e))
  }
  const familyError = (family: unknown): Error =>
    Object.assign(
      codedError(
        RangeError,
        'ERR_INVALID_ADDRESS_FAMILY',
        `Invalid address family: ${family} ${options.host}:${options.port}`
      ),
      { host: options.host, port: options.port }
    )
  if (dnsFamily !== 4 && dnsFamily !== 6 && !local.address && autoSelect) {
    dnsOptions.all = true
    lookup(target.host, dnsOptions, (err: Error | null, addresses: dns.LookupAddress[]) => {
      if (!socket.connecting) return
      if (err) {
        socket.emit('lookup', err, undefined, undefined, target.host)
        fail(err)
        return
      }
      const valid: [dns.LookupAddress[], dns.LookupAddress[]] = [[], []]
      let first: number | undefined
      for (const a of addresses) {
        socket.emit('lookup', err, a.address, a.family, target.host)
        if (!socket.connecting) return
        if (typeof a.address === 'string' && nodeNet.isIP(a.address) && (a.family === 4 || a.family === 6)) {
          first ??= a.family
          const group = valid[a.family === first ? 0 : 1]
          if (!group.some((x) => x.address === a.address)) group.push(a)
        }
      }
      if (valid[0].length === 0 && valid[1].length === 0) {
        const a = addresses[0]!
        if (typeof a.address !== 'string' || !nodeNet.isIP(a.address)) fail(invalidIp(a.address))
        else if (a.family !== 4 && a.family !== 6) fail(familyError(a.family))
        return
      }
      const ordered: dns.LookupAddress[] = []
      for (let i = 0; i < Math.max(valid[0].length, valid[1].length); i++) {
        if (i < valid[0].length) ordered.push(valid[0][i]!)
        if (i < valid[1].length) ordered.push(valid[1][i]!)
      }
      if (ordered.length > 1) socket.autoSelectFamilyAttemptedAddresses = []
      attempt(
        ordered.map((a) => ({ host: a.address, port: target.port, family: a.family as 4 | 6 })),
        ordered.length > 1 ? attemptTimeout : 0
      )
    })
    return
  }
  // Throws (synchronously, as node:net does) on a host that is not a string.
  lookup(target.host, dnsOptions, (err: Error | null, ip: string, family: number) => {
    socket.emit('lookup', err, ip, family, target.host)
    if (!socket.connecting) return
    if (err) fail(err)
    else if (typeof ip !== 'string' || !nodeNet.isIP(ip)) fail(invalidIp(ip))
    else if (family !== 4 && family !== 6) fail(familyError(family))
    else attempt([{ host: ip, port: target.port, family }], 0)
  })
}

/**
 * Tries `targets` in turn, each but the last given `timeout` ms (0: no limit); `connected`
 * gets the first connected descriptor. Every attempt stops when `outer` aborts; the errors of
 * all of them destroy the socket (an `AggregateError` when there were several).
 */
export function attemptConnect(
  socket: ConnectingSocket,
  targets: ConnectAddress[],
  local: LocalAddress | undefined,
  timeout: number,
  outer: AbortSignal,
  connected: (fd: number) => void
): void {
  const errors: Error[] = []
  // node:net's internalConnectMultiple (several addresses) or internalConnect (one): they
  // emit 'connectionAttempt', 'connectionAttemptFailed' and 'connectionAttemptTimeout' apart.
  const multiple = targets.length > 1
  const next = (i: number): void => {
    if (outer.aborted) return
    const to = targets[i]!
    const address = 'host' in to ? to.host : to.path
    const port = 'host' in to ? to.port : undefined
    const family = 'host' in to ? to.family : undefined
    if ('host' in to) {
      if (socket.blockList?.check(to.host, `ipv${to.family}` as 'ipv4' | 'ipv6')) {
        const e = codedError(Error, 'ERR_IP_BLOCKED', `IP(${to.host}) is blocked by net.BlockList`)
        if (!multiple) {
          socket.emit('connectionAttempt', address, port, family)
          socket.destroy(e)
          return
        }
        errors.push(e)
        socket.emit('connectionAttemptFailed', address, port, family, e)
        if (outer.aborted) return
        if (i + 1 < targets.length) next(i + 1)
        else socket.destroy(aggregate(errors))
        return
      }
      socket.autoSelectFamilyAttemptedAddresses?.push(`${to.host}:${to.port}`)
    }
    const attempt = new AbortController()
    const onOuter = (): void => attempt.abort()
    outer.addEventListener('abort', onOuter, { once: true })
    let timer: NodeJS.Timeout | undefined
    let timedOut = false
    let attempted = false
    if (timeout > 0 && i < targets.length - 1) {
      timer = setTimeout(() => {
        timedOut = true
        attempt.abort()
      }, timeout)
    }
    const onAttempt = (): void => {
      attempted = true
      socket.emit('connectionAttempt', address, port, family)
    }
    connectFd(to, local, attempt.signal, onAttempt).then(
      (fd) => {
        clearTimeout(timer)
        outer.removeEventListener('abort', onOuter)
        if (outer.aborted || socket.destroyed) {
          new Connection(fd).close()
          return
        }
        connected(fd)
      },
      (err: Error) => {
        clearTimeout(timer)
        outer.removeEventListener('abort', onOuter)
        if (outer.aborted || socket.destroyed) return
        if (timedOut && 'host' in to) {
          const e = codedError(Error, 'ETIMEDOUT', `connect ETIMEDOUT ${to.host}:${to.port}`)
          Object.assign(e, { errno: -110, syscall: 'connect', address: to.host, port: to.port })
          err = e
          socket.emit('connectionAttemptTimeout', address, port, family)
        } else if (attempted && (multiple || !connectedAtOnce.has(err))) {
          // node:net's afterConnect / afterConnectMultiple (and, with several addresses, an
          // error of connect(2) itself); not a failed bind, which comes before the attempt.
          // node:net names the local end when both were given: "... - Local (addr:port)" (an
          // error of connect(2) itself names the socket's address already).
          if (local?.address && local.port && !connectedAtOnce.has(err)) {
            Object.assign(err, { localAddress: local.address, localPort: local.port })
            err.message += ` - Local (${local.address}:${local.port})`
          }
          socket.emit('connectionAttemptFailed', address, port, family, err)
        }
        if (outer.aborted || socket.destroyed) return
        errors.push(err)
        if (i + 1 < targets.length) next(i + 1)
        else if (errors.length === 1) socket.destroy(errors[0])
        else socket.destroy(aggregate(errors))
      }
    )
  }
  next(0)
}

function aggregate(errors: Error[]): AggregateError {
  const agg = new AggregateError(errors, '') as AggregateError & { code?: string }
  agg.code = (errors[0] as Error & { code?: string }).code
  return agg
}
