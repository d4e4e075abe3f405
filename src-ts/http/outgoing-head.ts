/**
 * The head of a boros/http response on its way to the engine (outgoing.ts): the response's
 * internal fields, its header table, whether the head has a Content-Length, the head as flat
 * pairs, and `send` (the head once, then the chunks; 'drain' armed on backpressure).
 * @module
 */
import { RESPOND_NO_DATE } from './engine.js'
import type { IncomingMessage } from './incoming.js'
import { type Headers, kNeedDrain, kOutHeaders, type ResponseContext } from './outgoing-defs.js'

export const kCtx: unique symbol = Symbol('kCtx')
export const kGiven: unique symbol = Symbol('kGiven')
export const kState: unique symbol = Symbol('kState')
/** `kState` bits. */
export const HEAD_SENT = 1
/** writeHead() fixed the head before the body was known: node frames it as a stream then. */
export const HEAD_FIXED = 2
/** 'finish' was emitted (what `writableFinished` says where node's reads its kWritableFinished). */
export const FINISH_EMITTED = 4

/** What of a response (`ServerResponse`, outgoing.ts) these functions use. */
export interface ResponseHead {
  statusCode: number
  statusMessage: string | undefined
  sendDate: boolean
  _header: boolean
  destroyed: boolean
  req: IncomingMessage
  [kOutHeaders]: Headers | null
  [kNeedDrain]: boolean
  [kCtx]: ResponseContext
  [kGiven]: string[] | null
  [kState]: number
  hasHeader(name: string): boolean
  emit(event: 'drain'): boolean
}

/** A new empty header table (node's makes it on the first set). */
export function table(res: ResponseHead): Headers {
  const t = Object.create(null) as Headers
  res[kOutHeaders] = t
  return t
}

/** Whether the head has a Content-Length (in the table or in writeHead()'s pairs). */
export function hasLength(res: ResponseHead): boolean {
  const g = res[kGiven]
  if (g === null) return res.hasHeader('content-length')
  for (let i = 0; i < g.length; i += 2) if (g[i]!.length === 14 && g[i]!.toLowerCase() === 'content-length') return true
  return false
}

/** The head's headers as flat pairs for the engine. */
export function flat(res: ResponseHead): string[] {
  if (res[kGiven] !== null) return res[kGiven]
  const out: string[] = []
  const h = res[kOutHeaders]
  if (h === null) return out
  for (const k in h) {
    const [name, value] = h[k]!
    if (Array.isArray(value)) for (const v of value) out.push(name, String(v))
    else out.push(name, typeof value === 'string' ? value : String(value))
  }
  return out
}

/** The head (once) and `chunk` to the engine; arms 'drain' when it reports backpressure. */
export function send(res: ResponseHead, chunk: Buffer | Uint8Array | string | null, end: boolean): boolean {
  let ok: boolean
  const req = res.req
  const sink = res[kCtx].sink
  if ((res[kState] & HEAD_SENT) === 0) {
    res[kState] |= HEAD_SENT
    res._header = true
    ok = sink.respond(
      req._conn,
      req._seq,
      res.statusCode,
      res.statusMessage,
      flat(res),
      chunk,
      end,
      res.sendDate ? 0 : RESPOND_NO_DATE
    )
  } else ok = sink.write(req._conn, req._seq, chunk ?? '', end)
  if (!ok && !end && !res[kNeedDrain]) {
    res[kNeedDrain] = true
    sink.onDrain(req._conn, () => {
      res[kNeedDrain] = false
      if (!res.destroyed) res.emit('drain')
    })
  }
  return ok
}
