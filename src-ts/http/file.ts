/**
 * Files as response bodies. On the engine the file is opened, stat'ed, read and closed on the
 * ring and its bytes go from the kernel to the socket without JS touching them
 * (`Engine.sendFile`); on node:http (the fallback) the same calls stream the file.
 *
 * - `serve()`: `return new Response(file('./public/index.html'))`: the shape of
 *   `new Response(Bun.file(path))`. {@link BorosFile} is a `Blob`, so the same response works
 *   anywhere a `Response` does (it streams the file there).
 * - `createServer()`: `sendFile(res, path)`: head (adds `Content-Length` unless the response has
 *   one), the file, the end.
 * @module
 */
import fs = require('node:fs')
import type { ServerResponse as NodeServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { AbortError, invalidArgType } from '../errors.js'
import { ServerResponse } from './outgoing.js'

const TYPES: Record<string, string> = {
  html: 'text/html;charset=utf-8',
  htm: 'text/html;charset=utf-8',
  css: 'text/css;charset=utf-8',
  js: 'text/javascript;charset=utf-8',
  mjs: 'text/javascript;charset=utf-8',
  json: 'application/json;charset=utf-8',
  txt: 'text/plain;charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  wasm: 'application/wasm',
  pdf: 'application/pdf'
}

/**
 * Opens `path` with boros' ring `open` (a FileHandle with `fd` and `stat()`). Loaded on first
 * use: boros/http does not load the file API unless a file body is sent.
 */
export async function openOnRing(path: string): Promise<import('../fs/file-handle.js').FileHandle> {
  const { open } = await import('../fs/open.js')
  return open(path)
}

/** The MIME type of a path by its extension (`application/octet-stream` when unknown). */
function typeOf(path: string): string {
  const dot = path.lastIndexOf('.')
  return (dot > path.lastIndexOf('/') && TYPES[path.slice(dot + 1).toLowerCase()]) || 'application/octet-stream'
}

/** Options of {@link file}. */
export interface FileOptions {
  /** The `Content-Type` (default: by the extension). */
  readonly type?: string
}

/**
 * A file on disk as a `Blob` (nothing is read until it is sent or its bytes are asked for).
 * `serve()` sends it from the ring; elsewhere it streams like any Blob.
 */
export class BorosFile extends Blob {
  /** The file's path. */
  readonly path: string
  readonly #type: string
  readonly #start: number
  readonly #end: number | undefined

  /** @internal use {@link file}. */
  constructor(path: string, type: string, start = 0, end?: number) {
    super([])
    this.path = path
    this.#type = type
    this.#start = start
    this.#end = end
  }

  // @ts-expect-error Blob's `type` is an accessor at run time (lib.dom declares a property)
  override get type(): string {
    return this.#type
  }

  /** The byte range's size (the file is stat'ed, synchronously, when this is asked). */
  // @ts-expect-error as `type`
  override get size(): number {
    return range(fs.statSync(this.path).size, this.#start, this.#end)[1]
  }

  /** @internal the range `[start, end)` asked for (`end` undefined: to the end of the file). */
  get _range(): [number, number | undefined] {
    return [this.#start, this.#end]
  }

  override slice(start?: number, end?: number, type?: string): BorosFile {
    // Blob.slice's arguments, relative to the range this file already is.
    if ((start ?? 0) < 0 || (end ?? 0) < 0)
      return new BorosFile(this.path, type ?? '', ...resolveNegative(this, start, end))
    const s = this.#start + (start ?? 0)
    let e = end === undefined ? this.#end : this.#start + end
    if (e !== undefined && this.#end !== undefined) e = Math.min(e, this.#end)
    return new BorosFile(this.path, type ?? '', s, e === undefined ? undefined : Math.max(e, s))
  }

  override stream(): ReadableStream<Uint8Array> {
    const [start, end] = [this.#start, this.#end]
    if (end !== undefined && end <= start) return new Blob([]).stream() as ReadableStream<Uint8Array>
    const rs = fs.createReadStream(this.path, { start, end: end === undefined ? undefined : end - 1 })
    return Readable.toWeb(rs) as unknown as ReadableStream<Uint8Array>
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes()
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  }

  override async bytes(): Promise<Uint8Array> {
    return this.#bytes()
  }

  override async text(): Promise<string> {
    return (await this.#bytes()).toString('utf8')
  }

  async #bytes(): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const c of Readable.fromWeb(this.stream() as any)) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }

  get [Symbol.toStringTag](): string {
    return 'Blob'
  }
}

/** A negative-argument slice resolved against the file's current size (rare: stats it). */
function resolveNegative(f: BorosFile, start?: number, end?: number): [number, number] {
  const [s0, e0] = f._range
  const size = range(fs.statSync(f.path).size, s0, e0)[1]
  const rel = (v: number | undefined, d: number) =>
    v === undefined ? d : v < 0 ? Math.max(size + v, 0) : Math.min(v, size)
  const s = rel(start, 0)
  const e = Math.max(rel(end, size), s)
  return [s0 + s, s0 + e]
}

/** `[offset, length]` of the range `[start, end)` in a file of `size` bytes. */
export function range(size: number, start: number, end: number | undefined): [number, number] {
  const s = Math.min(start, size)
  const e = end === undefined ? size : Math.min(end, size)
  return [s, Math.max(e - s, 0)]
}

/** A file as a response body (`new Response(file(path))`); see {@link BorosFile}. */
export function file(path: string | URL, options?: FileOptions): BorosFile {
  const p = path instanceof URL ? fileURLToPath(path) : path
  if (typeof p !== 'string') throw invalidArgType('path', 'of type string or an instance of URL', path)
  const type = options?.type
  if (type !== undefined && typeof type !== 'string') throw invalidArgType('options.type', 'of type string', type)
  return new BorosFile(p, type ?? typeOf(p))
}

/** Options of {@link sendFile}. */
export interface SendFileOptions {
  /** First byte to send (default 0). */
  readonly offset?: number
  /** Bytes to send (default: to the end of the file). */
  readonly length?: number
  /** Aborting destroys the response (and its connection). */
  readonly signal?: AbortSignal
}

/**
 * Answers `res` (a `createServer()` response, boros/http's or node:http's) with a file: the head
 * as set so far (plus `Content-Length` unless the response has one, and `Content-Type` by the
 * extension unless set), the file's bytes, the end. On boros/http's engine the file is read on
 * the ring and sent without passing through JS; on node:http it is streamed. Resolves with the
 * bytes sent; rejects with the open/read error (before the head is sent for a file that cannot
 * be opened: answer it yourself), `ERR_HTTP_CONTENT_LENGTH_MISMATCH` when the file is shorter
 * than announced (the connection is closed), or `AbortError`.
 */
export async function sendFile(
  res: ServerResponse | NodeServerResponse,
  path: string | URL,
  options: SendFileOptions = {}
): Promise<number> {
  const p = path instanceof URL ? fileURLToPath(path) : path
  if (typeof p !== 'string') throw invalidArgType('path', 'of type string or an instance of URL', path)
  const { offset = 0, length, signal } = options
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
  if (!ServerResponse._canSendFile(res)) return sendFileStreamed(res as NodeServerResponse, p, offset, length, signal)
  const fh = await openOnRing(p)
  try {
    const [off, len] = withFileHeaders(res, p, (await fh.stat()).size, offset, length)
    return await ServerResponse._sendFile(res, fh.fd, off, len, signal)
  } finally {
    await fh.close()
  }
}

/**
 * The byte range `[offset, offset + length)` of a file of `size` bytes, clamped as `range` does;
 * sets `Content-Length` and `Content-Type` on `res` unless they (or `Transfer-Encoding`) are set
 * or the head is already out. One place for both `sendFile` routes.
 */
function withFileHeaders(
  res: ServerResponse | NodeServerResponse,
  p: string,
  size: number,
  offset: number,
  length: number | undefined
): [number, number] {
  const [off, len] = range(size, offset, length === undefined ? undefined : offset + length)
  if (!res.headersSent) {
    if (!res.hasHeader('content-length') && !res.hasHeader('transfer-encoding')) res.setHeader('content-length', len)
    if (!res.hasHeader('content-type')) res.setHeader('content-type', typeOf(p))
  }
  return [off, len]
}

async function sendFileStreamed(
  res: NodeServerResponse,
  p: string,
  offset: number,
  length: number | undefined,
  signal: AbortSignal | undefined
): Promise<number> {
  const fh = await fs.promises.open(p)
  try {
    const [off, len] = withFileHeaders(res, p, (await fh.stat()).size, offset, length)
    if (len === 0) {
      res.end()
      return 0
    }
    let sent = 0
    const rs = fh.createReadStream({ start: off, end: off + len - 1, autoClose: false })
    rs.on('data', (c) => {
      sent += c.length
    })
    try {
      await pipeline(rs, res, { signal })
    } catch (err) {
      // Which error pipeline() reports after an abort depends on the Node version (a premature
      // close of the response can win on Node 24): an abort is an AbortError, as on the engine.
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
      throw err
    }
    return sent
  } finally {
    await fh.close()
  }
}
