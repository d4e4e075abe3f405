/**
 * node:net's argument forms and checks (`normalizeArgs`, `validatePort`, ...), with Node's
 * codes and wording, done before anything reaches the ring.
 * @module
 */
import { isIP } from 'node:net'
import { format, inspect } from 'node:util'
import { codedError, invalidArgType, outOfRange } from '../errors.js'
import { CONNECT_HOST_TYPE_CHECKED, UNIX_PATH_NOT_CUT } from '../node-facts.js'
import { SUN_PATH_LEN } from '../wire.js'

/**
 * node:dns, loaded at the first lookup rather than with boros/net: a module loaded at start-up
 * stays alive, and every byte of it that V8 allocated young counts towards growing the young
 * generation (docs/net.md, "Start-up memory and the young generation"). Read `lookup` from it at
 * each call, as node:net does, so a patched `dns.lookup` is the one used.
 */
export function lazyDns(): typeof import('node:dns') {
  dnsModule ??= require('node:dns') as typeof import('node:dns')
  return dnsModule
}
let dnsModule: typeof import('node:dns') | undefined

/** A callback, or null. */
export type Callback = (...args: any[]) => void

/**
 * `[options, callback]` from node:net's `(options[, cb])`, `(path[, cb])`, `(port[, host][, cb])`
 * (node:net's `_normalizeArgs`).
 */
export function normalizeArgs(args: readonly unknown[]): [Record<string, any>, Callback | null] {
  if (args.length === 0) return [{}, null]
  const arg0 = args[0]
  let options: Record<string, any> = {}
  if (typeof arg0 === 'object' && arg0 !== null) options = arg0 as Record<string, any>
  else if (isPipeName(arg0)) options.path = arg0
  else {
    options.port = arg0
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1]
  }
  const cb = args[args.length - 1]
  return [options, typeof cb === 'function' ? (cb as Callback) : null]
}

/** `Number(x)` when it is a number >= 0, else false (Node's `toNumber`). */
export function toNumber(x: unknown): number | false {
  const n = Number(x)
  return n >= 0 ? n : false
}

/** A string that is not a number: a Unix socket path. */
export function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && toNumber(s) === false
}

/**
 * The name a Unix socket `path` is bound or connected by, as the running Node's libuv does: the
 * path itself when it fits `sun_path` (at most `SUN_PATH_LEN`, 108 bytes, an abstract name's
 * leading NUL counted); a longer one is refused on Node 23+ (`undefined`: node:net's `EINVAL`)
 * and cut to its first 108 bytes on Node 20 and 22 (`UNIX_PATH_NOT_CUT`). A cut that would split
 * a UTF-8 character stops before it (the binding takes a string), where Node 20's libuv keeps
 * the character's first bytes.
 */
export function unixName(path: string): string | undefined {
  if (path.length * 3 <= SUN_PATH_LEN) return path
  const bytes = Buffer.from(path)
  if (bytes.length <= SUN_PATH_LEN) return path
  if (UNIX_PATH_NOT_CUT) return undefined
  let end = SUN_PATH_LEN
  // A UTF-8 continuation byte (0b10xxxxxx) at the cut: back to the character's first byte.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.toString('utf8', 0, end)
}

/** How Node shows a value in "Received ..." (`determineSpecificType`). */
export function specificType(value: unknown): string {
  if (value == null) return String(value)
  if (typeof value === 'function') return `function ${value.name}`
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name
    return name ? `an instance of ${name}` : inspect(value, { depth: -1 })
  }
  let shown = inspect(value, { colors: false })
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`
  return `type ${typeof value} (${shown})`
}

/** `ERR_SOCKET_BAD_PORT` unless `port` is 0..65535 (a number or a numeric string). Returns it as a number. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff ||
    (+port === 0 && !allowZero)
  ) {
    throw codedError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${specificType(port)}.`
    )
  }
  return +port | 0
}

/** `ERR_INVALID_IP_ADDRESS`. */
export function invalidIp(address: unknown): TypeError {
  return codedError(TypeError, 'ERR_INVALID_IP_ADDRESS', format('Invalid IP address: %s', address))
}

/** Node's `getTimerDuration`: a non-negative finite number of milliseconds. */
export function timerDuration(msecs: unknown, name: string): number {
  if (typeof msecs !== 'number') throw invalidArgType(name, 'of type number', msecs)
  if (msecs < 0 || !Number.isFinite(msecs)) throw outOfRange(name, 'a non-negative finite number', msecs)
  return msecs
}

/** Node's `validateInt32`: a whole number in `min..max`. */
export function validateInt32(
  value: unknown,
  name: string,
  min = -2147483648,
  max = 2147483647
): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value)
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value)
}

/** `validateNumber` as node:net's Socket and Server constructors use it (the type only). */
export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
}

/** `ERR_INVALID_ARG_TYPE` unless `fn` is a function. */
export function validateFunction(fn: unknown, name: string): asserts fn is Callback {
  if (typeof fn !== 'function') throw invalidArgType(name, 'of type function', fn)
}

/** `ERR_INVALID_ARG_TYPE` unless `signal` is an AbortSignal (or undefined). */
export function validateAbortSignal(signal: unknown, name: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw invalidArgType(name, 'an instance of AbortSignal', signal)
  }
}

/** The connect target from node:net options, checked as `Socket.prototype.connect` checks it. */
export function connectTarget(
  options: Record<string, any>
): { path: string } | { host: string; port: number; localAddress?: string; localPort?: number } {
  if (options.port === undefined && options.path == null) {
    throw codedError(TypeError, 'ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified')
  }
  if (options.path != null) {
    if (typeof options.path !== 'string') throw invalidArgType('options.path', 'of type string', options.path)
    return { path: options.path }
  }
  const { localAddress, localPort } = options
  if (localAddress && !isIP(localAddress)) throw invalidIp(localAddress)
  if (localPort && typeof localPort !== 'number') throw invalidArgType('options.localPort', 'of type number', localPort)
  const port = options.port
  if (typeof port !== 'number' && typeof port !== 'string') {
    throw invalidArgType('options.port', 'one of type number or string', port)
  }
  const p = validatePort(port)
  // Node 22.15+ checks the host's type itself ("options.host"); older Nodes leave it to dns.lookup
  // ("hostname"), which the lookup below then reports as they do (node-facts.ts).
  if (CONNECT_HOST_TYPE_CHECKED && options.host && typeof options.host !== 'string') {
    throw invalidArgType('options.host', 'of type string', options.host)
  }
  const host = options.host || 'localhost'
  const out: { host: string; port: number; localAddress?: string; localPort?: number } = { host, port: p }
  if (localAddress) out.localAddress = localAddress
  if (localPort) out.localPort = localPort
  return out
}
