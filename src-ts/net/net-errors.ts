/**
 * Socket errors as node:net builds them (`errnoException`, `exceptionWithHostPort`,
 * `UVExceptionWithHostPort` in Node's lib/internal/errors.js): `read ECONNRESET`,
 * `connect ECONNREFUSED 127.0.0.1:1`, `listen EADDRINUSE: address already in use :::80`.
 * @module
 */
import { systemErrorName } from '../errors.js'

/** A failed socket call, with node:net's fields. */
export interface NetError extends Error {
  errno: number
  code: string
  syscall: string
  address?: string
  port?: number
}

/** `${syscall} ${code}`, as Node's `errnoException` (a read or write error). */
export function netErrno(errno: number, syscall: string): NetError {
  const code = systemErrorName(errno)[0]
  const err = new Error(`${syscall} ${code}`) as NetError
  err.errno = errno
  err.code = code
  err.syscall = syscall
  return err
}

/**
 * `${syscall} ${code} ${address}:${port}` (`exceptionWithHostPort`), or with `uv` the uv
 * description after the code (`listen EADDRINUSE: address already in use ...`).
 */
export function withHostPort(errno: number, syscall: string, address: string, port?: number, uv = false): NetError {
  const [code, description] = systemErrorName(errno)
  let details = ''
  if (port !== undefined && port > 0) details = ` ${address}:${port}`
  else if (address) details = ` ${address}`
  const err = new Error(
    uv ? `${syscall} ${code}: ${description}${details}` : `${syscall} ${code}${details}`
  ) as NetError
  if (uv) {
    err.code = code
    err.errno = errno
  } else {
    err.errno = errno
    err.code = code
  }
  err.syscall = syscall
  err.address = address
  // Both of Node's builders set `port` only when it is not 0 (`if (port)`).
  if (port !== undefined && port !== 0) err.port = port
  return err
}
