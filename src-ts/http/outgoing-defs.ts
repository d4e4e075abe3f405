/**
 * What `ServerResponse` (outgoing.ts) is made of besides its class: what it needs from the
 * engine, node's private keys it shares with node's own methods and getters, and the argument
 * checks node's `OutgoingMessage` does.
 * @module
 */
import * as http from 'node:http'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import { codedError, invalidArgType } from '../errors.js'
import { lowerName } from './incoming.js'

/** What a response needs from the engine. */
export interface ResponseSink {
  respond(
    conn: number,
    seq: number,
    status: number,
    reason: string | undefined,
    headers: readonly string[],
    body: Buffer | Uint8Array | string | null,
    end: boolean,
    flags?: number
  ): boolean
  write(conn: number, seq: number, chunk: Buffer | Uint8Array | string, end: boolean): boolean
  /** Trailer lines (`name: value\r\n`..., latin1) sent in the last chunk of a chunked body. */
  trailers(conn: number, seq: number, lines: string): void
  onDrain(conn: number, cb: () => void): void
  continue(conn: number): void
  destroy(conn: number): void
  /** The engine's file body (`Engine.sendFile`), where the sink has one. */
  sendFile?(
    conn: number,
    seq: number,
    fd: number,
    offset: number,
    length: number,
    end: boolean,
    signal?: AbortSignal
  ): Promise<number>
}

export type Header = [name: string, value: string | number | readonly string[]]
export type Headers = Record<string, Header>
export type Cb = (err?: Error | null) => void

/**
 * node's private key of the header table (own symbol of its `OutgoingMessage`), so node's header
 * methods read ours; a symbol of our own if this Node has other internals (the header methods
 * are then set on each instance, as the others).
 */
const nodeRes = new http.ServerResponse({
  method: 'GET',
  httpVersionMajor: 1,
  httpVersionMinor: 1,
  headers: {}
} as never) as unknown as Record<symbol, unknown>
const nodeSymbol = (name: string) => Object.getOwnPropertySymbols(nodeRes).find((k) => k.description === name)
export const nodeOutHeaders = nodeSymbol('kOutHeaders')
export const kOutHeaders: unique symbol = (nodeOutHeaders ?? Symbol('kOutHeaders')) as never
/**
 * node's field behind its `socket` / `connection` getters where a Node has one (24), set too:
 * after a swap, `res.connection` is node's getter.
 */
export const kSocket = nodeSymbol('kSocket')
/** node's flag behind its `writableNeedDrain` getter (inherited, and a swapped prototype's). */
export const kNeedDrain: unique symbol = (nodeSymbol('kNeedDrain') ?? Symbol('kNeedDrain')) as never
/**
 * node's private fields its `writableLength` / `writableHighWaterMark` / `writableCorked`
 * getters read (which ones depends on the Node), with the values a new node response has: set
 * on each response, so those getters (inherited) answer as on node's.
 */
export const NODE_FIELDS = ['corked', 'kChunkedLength', 'kHighWaterMark']
  .map(nodeSymbol)
  .filter((k) => k !== undefined)
  .map((k) => [k, nodeRes[k]] as const)

/**
 * node's `writableFinished`: true once 'finish' was emitted (it reads its kWritableFinished:
 * seen on 24.22 and 26.12), or as soon as `end()` left nothing to write (20, 22, 24.16 and
 * before). Probed on node's own response: ended, nothing buffered, no socket.
 */
export const FINISHED_AT_FINISH_EVENT = (() => {
  const r = new http.ServerResponse({ method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} } as never)
  ;(r as { finished: boolean }).finished = true
  return r.writableFinished !== true
})()

/** What every response of a server shares: the engine and the server's bookkeeping. */
export interface ResponseContext {
  sink: ResponseSink
  /** The server's bookkeeping at a response's 'finish' (a method: it takes the ServerResponse). */
  onFinished(res: object): void
}

export const headersSentError = (what: string) =>
  codedError(Error, 'ERR_HTTP_HEADERS_SENT', `Cannot ${what} headers after they are sent to the client`)

export function lower(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name)
  return lowerName(name)
}

/** A chunk as the engine takes it (strings in utf8 go as they are). */
export function bytes(chunk: unknown, encoding: BufferEncoding | undefined): Buffer | Uint8Array | string {
  if (typeof chunk === 'string') {
    return encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' ? chunk : Buffer.from(chunk, encoding)
  }
  if (chunk instanceof Uint8Array) return chunk
  throw invalidArgType('chunk', 'of type string or an instance of Buffer or Uint8Array', chunk)
}

/** writeHead()'s header object as flat `[name, value, ...]`, validated as node's `_storeHeader` does. */
export function pairsOf(headers: http.OutgoingHttpHeaders): string[] {
  const out: string[] = []
  for (const k in headers) {
    if (!Object.hasOwn(headers, k)) continue
    const v = headers[k]
    if (k === '') continue
    validateHeaderName(k)
    validateHeaderValue(k, v as string)
    if (Array.isArray(v)) for (const x of v) out.push(k, String(x))
    else out.push(k, typeof v === 'string' ? v : String(v))
  }
  return out
}
