/**
 * Every error boros throws is built here: system errors shaped like Node's (`code`, `errno`,
 * `syscall`, `path`, `dest`), argument errors with Node's codes, and `AbortError`.
 * @module
 */
import { getSystemErrorMap, inspect } from 'node:util'
import { nativeCodes } from './wire.js'

let systemErrors: Map<number, [string, string]> | undefined

/**
 * Node's `[code, description]` for a negative errno (`[-2]` is `['ENOENT', 'no such file or
 * directory']`). `util.getSystemErrorMap()` builds a new Map of ~130 entries each call (~20 KB
 * of young objects): made at the first error and shared, not at start-up (docs/net.md,
 * "Start-up memory").
 */
export function systemErrorName(errno: number): [code: string, description: string] {
  systemErrors ??= getSystemErrorMap()
  return systemErrors.get(errno) ?? [`Unknown system error ${errno}`, 'unknown error']
}

/** A failed system call, shaped like the errors `node:fs/promises` rejects with. */
export interface SystemError extends Error {
  /** `'ENOENT'`, `'EISDIR'`, ... */
  code: string
  /** Negative errno, as Node reports it (`-2` for ENOENT). */
  errno: number
  /** The system call that failed (`'open'`, `'read'`, ...). */
  syscall: string
  /** The path the call was given, if any. */
  path?: string
  /** The destination path (rename, link, copyFile), if any. */
  dest?: string
}

/** Builds a Node-shaped system error from a negative errno. */
export function systemError(result: number, syscall: string, path?: string, dest?: string): SystemError {
  const [code, description] = systemErrorName(result)
  let message = `${code}: ${description}, ${syscall}`
  if (path !== undefined) message += ` '${path}'`
  if (dest !== undefined) message += ` -> '${dest}'`
  const err = new Error(message) as SystemError
  err.errno = result
  err.code = code
  err.syscall = syscall
  if (path !== undefined) err.path = path
  if (dest !== undefined) err.dest = dest
  return err
}

/**
 * Stable codes of the errors boros itself throws: every code the native binding can raise
 * (generated from `crates/boros-node/src/wire.rs`, see wire.ts) and the façade's own. Node's
 * codes (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`, `ABORT_ERR`...) keep Node's meaning.
 */
export const codes = {
  /** io_uring could not be set up here; `reason` says why. */
  IO_URING_UNAVAILABLE: nativeCodes.IO_URING_UNAVAILABLE,
  /** The kernel lacks an io_uring operation; the message names it and the kernel it needs. */
  UNSUPPORTED_OP: nativeCodes.UNSUPPORTED_OP,
  /** The native addon could not be loaded on this platform or runtime. */
  NO_BINARY: 'ERR_BOROS_NO_BINARY',
  /** The handle, stream, pool or runtime was closed (or is shutting down). */
  CLOSED: nativeCodes.CLOSED,
  /** The running Node (or runtime) lacks what the call needs, or the binary and the façade come from different builds. */
  UNSUPPORTED_RUNTIME: nativeCodes.UNSUPPORTED_RUNTIME,
  /** `io_uring_enter` or a registration failed; the message has the errno. */
  SUBMIT_FAILED: nativeCodes.SUBMIT_FAILED,
  /** An internal call reached the native runtime before it was set up on this thread (a bug: please report it). */
  NOT_INITIALIZED: nativeCodes.NOT_INITIALIZED
} as const

type ErrorClass = new (message: string, options?: { cause?: unknown }) => Error

/** An error with a Node-style `code`, printed as `TypeError [ERR_X]: ...`. */
export function codedError<E extends ErrorClass>(
  Base: E,
  code: string,
  message: string,
  cause?: unknown
): InstanceType<E> & { code: string } {
  const err = new Base(message, cause === undefined ? undefined : { cause }) as InstanceType<E> & { code: string }
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true })
  const name = err.name
  err.name = `${name} [${code}]`
  void err.stack // materialize the stack with the code in its first line, as Node does
  err.name = name
  return err
}

/** Node's `AbortError` (`code: 'ABORT_ERR'`), with the signal's reason as `cause`. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR'
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AbortError'
  }
}

/**
 * How the running Node words a value in `ERR_INVALID_ARG_TYPE` (" Received type string
 * ('/tmp/a-very-long-path-th...')", " Received type symbol (Symbol(x))", "-0", quotes...): taken
 * from Node's own validator (`process.nextTick` checks its callback and has no other effect),
 * so it follows every Node version's wording. Errors are rare: the cost is paid only then.
 */
function nodeDescribe(value: unknown): string | undefined {
  try {
    process.nextTick(value as () => void)
  } catch (e) {
    const message = (e as Error).message
    const at = message.lastIndexOf(' Received')
    if ((e as { code?: string }).code === 'ERR_INVALID_ARG_TYPE' && at >= 0) return message.slice(at)
  }
  return undefined
}

function describe(value: unknown): string {
  if (value == null) return ` Received ${value}`
  if (typeof value === 'function') return ` Received function ${value.name}`
  const node = nodeDescribe(value)
  if (node !== undefined) return node
  if (typeof value === 'object') {
    const ctor = (value as object).constructor
    return ctor?.name ? ` Received an instance of ${ctor.name}` : ' Received an object'
  }
  let shown = String(value).slice(0, 25)
  if (typeof value === 'string') shown = `'${shown}'`
  if (typeof value === 'bigint') shown += 'n'
  return ` Received type ${typeof value} (${shown})`
}

/** `ERR_INVALID_ARG_TYPE`, worded as Node words it. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const what = name.includes('.') ? 'property' : 'argument'
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${what} must be ${expected}.${describe(actual)}`)
}

/** `ERR_INVALID_ARG_VALUE`, worded as Node words it. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError {
  let shown = inspect(value)
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`
  const type = name.includes('.') ? 'property' : 'argument'
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${type} '${name}' ${reason}. Received ${shown}`)
}

/** `ERR_OUT_OF_RANGE`, worded as Node words it (`4_294_967_296`, `5n`: Node's rendering of the value). */
export function outOfRange(name: string, range: string, value: unknown): RangeError {
  let received: string
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > 2 ** 32) {
    received = numericalSeparator(String(value))
  } else if (typeof value === 'bigint') {
    received = String(value)
    if (value > 2n ** 32n || value < -(2n ** 32n)) received = numericalSeparator(received)
    received += 'n'
  } else {
    received = inspect(value)
  }
  return codedError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${received}`
  )
}

/** Node's addNumericalSeparator: `1234567` as `1_234_567`. */
function numericalSeparator(val: string): string {
  let res = ''
  let i = val.length
  const start = val[0] === '-' ? 1 : 0
  for (; i >= start + 4; i -= 3) res = `_${val.slice(i - 3, i)}${res}`
  return `${val.slice(0, i)}${res}`
}
