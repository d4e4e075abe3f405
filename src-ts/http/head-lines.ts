/**
 * Response header lines and the `wire.HTTP_H_*` hints the engine frames a response by (which
 * of `Date`, `Connection`, `Content-Length`, `Transfer-Encoding` the caller gave, and whether
 * they say `close` / `chunked`).
 * @module
 */
import { STATUS_CODES } from 'node:http'
import * as wire from '../wire.js'

/**
 * Whether `name` is `lower` in any case: the two spellings handlers write (`lower`, `canon`)
 * are compared first, without making a lower-cased copy of the name per response.
 */
function named(name: string, lower: string, canon: string): boolean {
  return name === lower || name === canon || name.toLowerCase() === lower
}

/** The hints header `name` (any case) with `value` gives the engine. */
export function hintOf(name: string, value: string): number {
  switch (name.length) {
    case 4:
      return named(name, 'date', 'Date') ? wire.HTTP_H_DATE : 0
    case 10:
      if (!named(name, 'connection', 'Connection')) return 0
      return wire.HTTP_H_CONNECTION | (/(^|,)\s*close\s*(,|$)/i.test(value) ? wire.HTTP_H_CONN_CLOSE : 0)
    case 14:
      return named(name, 'content-length', 'Content-Length') ? wire.HTTP_H_CONTENT_LENGTH : 0
    case 17:
      if (!named(name, 'transfer-encoding', 'Transfer-Encoding')) return 0
      return wire.HTTP_H_TRANSFER_ENCODING | (/(^|,)\s*chunked\s*$/i.test(value) ? wire.HTTP_H_TE_CHUNKED : 0)
    default:
      return 0
  }
}

/** Flat `[name, value, ...]` headers as `Name: value\r\n` lines, and their hints. */
export function headerBlock(headers: readonly string[]): [string, number] {
  let lines = ''
  let hints = 0
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!
    const value = headers[i + 1]!
    lines += `${name}: ${value}\r\n`
    hints |= hintOf(name, value)
  }
  return [lines, hints]
}

/** The last head {@link responseHead} made, and what it was made of. */
let lastStatus = -1
let lastReason: string | undefined
let lastPairs: readonly string[] = []
let lastHead = ''
let lastHints = 0

/**
 * `reason + "\r\n" + header lines` and their hints for a response. The last one made is
 * reused when status, reason and every name and value are the same (a server answers most
 * requests with the same head): no joining, and the same string, which the response queue
 * knows by identity (`respond-queue.ts`) without hashing it again.
 */
export function responseHead(status: number, reason: string | undefined, headers: readonly string[]): [string, number] {
  if (status === lastStatus && reason === lastReason && headers.length === lastPairs.length) {
    let i = 0
    while (i < headers.length && headers[i] === lastPairs[i]) i++
    if (i === headers.length) return [lastHead, lastHints]
  }
  const [lines, hints] = headerBlock(headers)
  lastStatus = status
  lastReason = reason
  lastPairs = headers.slice()
  lastHead = `${reason ?? STATUS_CODES[status] ?? 'unknown'}\r\n${lines}`
  lastHints = hints
  return [lastHead, hints]
}
