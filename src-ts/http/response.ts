/**
 * Sending a `Response` returned by a `serve()` handler. Fast path: where undici keeps the
 * response's state under a symbol (Node 20/22) and the body is a string or bytes, status,
 * headers and body are read from it directly: no stream, one native call. Otherwise the body
 * stream is read: a body of one chunk still goes out with `Content-Length`; longer bodies are
 * streamed (`Transfer-Encoding: chunked`), with backpressure.
 * @module
 */
import * as wire from '../wire.js'
import type { RawRequest } from './engine.js'
import { BorosFile, openOnRing, range } from './file.js'
import { hintOf } from './head-lines.js'
import { type FastParts, fastParts, GlobalResponse, HeldBody, realResponse } from './light-response.js'

/** Where a response goes (the engine, for one server). */
export interface ResponseSink {
  respond(
    r: RawRequest,
    status: number,
    head: string,
    flags: number,
    /** `object`: a held body's handle ({@link HeldBody}). */
    body: Uint8Array | string | object | null,
    end: boolean
  ): boolean
  write(r: RawRequest, chunk: Uint8Array | string, end: boolean): boolean
  /** Resolves once the connection can take more (or is gone). */
  drain(r: RawRequest): Promise<void>
  /** Whether the connection is still open. */
  open(r: RawRequest): boolean
  /** The response is finished (or abandoned). */
  done(r: RawRequest): void
  /** `length` bytes of `fd` from `offset` as the rest of the body, then the end. */
  sendFile(r: RawRequest, fd: number, offset: number, length: number): Promise<number>
}

/** undici's internal state symbol of a Response, where it has one (Node 20/22). */
const kState: symbol | undefined = (() => {
  try {
    const probe = new Response('x', { status: 299, headers: { 'x-probe': '1' } })
    for (const s of Object.getOwnPropertySymbols(probe)) {
      const v = (probe as any)[s]
      if (v?.status === 299 && v.headersList !== undefined && v.body?.source === 'x') {
        if (typeof v.headersList[Symbol.iterator] === 'function') return s
      }
    }
  } catch {}
  return undefined
})()

const EMPTY = new Uint8Array(0)

/** `Name: value\r\n` lines of `[name, value]` pairs and their `wire.HTTP_H_*` hints. */
function lines(pairs: Iterable<[string, string]>, reason: string): [string, number] {
  let head = `${reason}\r\n`
  let hints = 0
  for (const [name, value] of pairs) {
    head += `${name}: ${value}\r\n`
    hints |= hintOf(name, value)
  }
  return [head, hints]
}

/**
 * The reason phrase of `status`: the standard one whatever `statusText` says, as Bun.serve and
 * Deno.serve send it (none for a status without one, as Deno).
 */
function reasonOf(status: number): string {
  return STATUS_TEXT[status] ?? ''
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 404: 'Not Found' }
import { STATUS_CODES } from 'node:http'
for (const [k, v] of Object.entries(STATUS_CODES)) if (v !== undefined) STATUS_TEXT[Number(k)] = v

/** Sends `res` (or, if it is not a Response, the error handler's answer) for request `r`. */
export function sendResponse(
  sink: ResponseSink,
  r: RawRequest,
  res: unknown,
  onError: (err: unknown) => Response | Promise<Response>,
  retry = true
): void {
  if (!(res instanceof GlobalResponse)) {
    recover(
      sink,
      r,
      new TypeError(`fetch() returned ${res === null ? 'null' : typeof res}, not a Response`),
      onError,
      retry
    )
    return
  }
  const fast = fastParts(res)
  if (fast?.body instanceof HeldBody && fast.body.used) {
    // The same Response returned again: its body was sent (read) already.
    recover(sink, r, new TypeError('Body is unusable: Body has already been read'), onError, retry)
    return
  }
  if (fast !== undefined) {
    sendFast(sink, r, fast)
    return
  }
  try {
    res = realResponse(res)
  } catch (err) {
    // undici refused what the handler gave (a bad header, status...): the error handler's.
    recover(sink, r, err, onError, retry)
    return
  }
  if (kState !== undefined) {
    const st = (res as any)[kState]
    const body = st.body
    const src = body == null ? null : body.source
    const list = st.headersList
    if ((body == null || typeof src === 'string' || src instanceof Uint8Array) && !list.cookies?.length) {
      const [head, hints] = lines(list, reasonOf(st.status))
      sink.respond(r, st.status, head, hints | wire.HTTP_RESPOND_KNOWN_LENGTH, body == null ? null : src, true)
      sink.done(r)
      return
    }
  }
  streamResponse(sink, r, res as Response).catch(() => {
    sink.done(r)
  })
}

/** The error handler's answer for `err` (once: failing again ends the request unanswered). */
function recover(
  sink: ResponseSink,
  r: RawRequest,
  err: unknown,
  onError: (err: unknown) => Response | Promise<Response>,
  retry: boolean
): void {
  if (!retry) {
    failed(sink, r)
    return
  }
  Promise.resolve()
    .then(() => onError(err))
    .then(
      (x) => sendResponse(sink, r, x, onError, false),
      () => failed(sink, r)
    )
}

const TEXT_PLAIN = 'content-type: text/plain;charset=UTF-8\r\n'

/** The last head {@link headFor} made, and what it was made of. */
let lastStatus = 0
let lastLines = ''
let lastPlain = false
let lastHead = ''

/**
 * The reason phrase, the header lines and (`plain`) undici's default `content-type` of a
 * string body, as one string. The last one made is reused: a handler answers most requests
 * with the same status and headers (whose lines `light-response.ts` reuses too), and one string
 * made once is copied into the connection's output without being joined and flattened again.
 */
function headFor(status: number, lines: string, plain: boolean): string {
  if (status !== lastStatus || plain !== lastPlain || lines !== lastLines) {
    lastStatus = status
    lastPlain = plain
    lastLines = lines
    lastHead = `${STATUS_TEXT[status] ?? ''}\r\n${lines}${plain ? TEXT_PLAIN : ''}`
  }
  return lastHead
}

/**
 * Sends a {@link LightResponse}'s parts as they are: the header lines made when it was built,
 * a string body's default `content-type` as undici's.
 */
function sendFast(sink: ResponseSink, r: RawRequest, f: FastParts): void {
  const hints = wire.HTTP_RESPOND_KNOWN_LENGTH | f.hints
  const type = f.typed
  if (f.body instanceof BorosFile) {
    let head = `${STATUS_TEXT[f.status] ?? ''}\r\n${f.head}`
    if (!type && f.body.type !== '') head += `content-type: ${f.body.type}\r\n`
    void sendFileBody(sink, r, f.status, head, hints, f.body)
    return
  }
  const head = headFor(f.status, f.head, !type && typeof f.body === 'string')
  let body: string | Uint8Array | object | null = f.body ?? null
  if (body instanceof HeldBody) {
    body.used = true
    body = body.handle
  }
  sink.respond(r, f.status, head, hints, body, true)
  sink.done(r)
}

/**
 * A {@link BorosFile} body: opened and stat'ed on the ring, the head with its length, the bytes
 * read and sent by the engine (`Engine.sendFile`). A file that cannot be opened is `404` (it
 * does not exist) or `500`, as Bun.serve answers a `Bun.file` that cannot be read.
 */
async function sendFileBody(
  sink: ResponseSink,
  r: RawRequest,
  status: number,
  head: string,
  hints: number,
  file: BorosFile
): Promise<void> {
  let fh: Awaited<ReturnType<typeof openOnRing>>
  try {
    fh = await openOnRing(file.path)
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ENOENT'
    const text = missing ? 'Not Found' : 'Internal Server Error'
    sink.respond(r, missing ? 404 : 500, `${text}\r\n${TEXT_PLAIN}`, wire.HTTP_RESPOND_KNOWN_LENGTH, text, true)
    sink.done(r)
    return
  }
  try {
    const [start, end] = file._range
    const [offset, length] = range((await fh.stat()).size, start, end)
    if ((hints & wire.HTTP_H_CONTENT_LENGTH) === 0) {
      head += `content-length: ${length}\r\n`
      hints |= wire.HTTP_H_CONTENT_LENGTH
    }
    sink.respond(r, status, head, hints, null, false)
    if (length > 0 && r.method !== 'HEAD') await sink.sendFile(r, fh.fd, offset, length)
    else sink.write(r, EMPTY, true)
  } catch {
    // The connection closed, or the file was shorter than its length said (the engine closes
    // the connection): nothing more can be said to this client.
  } finally {
    sink.done(r)
    await fh.close().catch(() => {})
  }
}

function failed(sink: ResponseSink, r: RawRequest): void {
  sink.respond(r, 500, 'Internal Server Error\r\n', 0, 'Internal Server Error', true)
  sink.done(r)
}

async function streamResponse(sink: ResponseSink, r: RawRequest, res: Response): Promise<void> {
  const [head, hints] = lines(res.headers as unknown as Iterable<[string, string]>, reasonOf(res.status))
  const body = res.body
  if (body === null) {
    sink.respond(r, res.status, head, hints | wire.HTTP_RESPOND_KNOWN_LENGTH, null, true)
    sink.done(r)
    return
  }
  const reader = body.getReader()
  try {
    const first = await reader.read()
    if (first.done) {
      sink.respond(r, res.status, head, hints | wire.HTTP_RESPOND_KNOWN_LENGTH, EMPTY, true)
      return
    }
    const second = await reader.read()
    if (second.done) {
      sink.respond(r, res.status, head, hints | wire.HTTP_RESPOND_KNOWN_LENGTH, first.value, true)
      return
    }
    let ok = sink.respond(r, res.status, head, hints, first.value, false)
    ok = sink.write(r, second.value, false) && ok
    for (;;) {
      if (!ok) {
        if (!sink.open(r)) {
          await reader.cancel()
          return
        }
        await sink.drain(r)
      }
      const next = await reader.read()
      if (next.done) break
      ok = sink.write(r, next.value, false)
    }
    sink.write(r, EMPTY, true)
  } catch (err) {
    // The body failed mid-way: the connection cannot carry a valid response any more.
    reader.cancel(err).catch(() => {})
    throw err
  } finally {
    sink.done(r)
  }
}
