/**
 * `serve()`'s request: an object that is a `Request` (`instanceof Request`, every property and
 * method of one) without paying for undici's construction. The URL string, `Headers`, the body
 * stream and the `AbortSignal` are made on first use; an inline body is read straight from the
 * engine's Buffer. `clone()` (and anything this object cannot do itself) goes through a real
 * `Request` made from it.
 * @module
 */
import type { RawRequest } from './engine.js'

const decoder = new TextDecoder()

/** A streamed request body: chunks from the engine, taken by the reader. */
export class BodyChannel {
  #chunks: Buffer[] = []
  #size = 0
  #done = false
  #error: Error | undefined
  #wake: (() => void) | undefined
  #pause: (on: boolean) => void
  #paused = false

  constructor(pause: (on: boolean) => void) {
    this.#pause = pause
  }

  push(chunk: Buffer | null): void {
    if (chunk === null) this.#done = true
    else {
      this.#chunks.push(chunk)
      this.#size += chunk.length
      if (this.#size > 1 << 20 && !this.#paused) {
        this.#paused = true
        this.#pause(true)
      }
    }
    this.#signal()
  }

  fail(err: Error): void {
    if (this.#done) return
    this.#error = err
    this.#signal()
  }

  #signal(): void {
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  /** The next chunk, or null at the end. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const c = this.#chunks.shift()
      if (c !== undefined) {
        this.#size -= c.length
        if (this.#paused && this.#size < 1 << 18) {
          this.#paused = false
          this.#pause(false)
        }
        return c
      }
      if (this.#error !== undefined) throw this.#error
      if (this.#done) return null
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }

  async all(): Promise<Buffer> {
    const parts: Buffer[] = []
    for (let c = await this.next(); c !== null; c = await this.next()) parts.push(c)
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
}

function bodyUsedError(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

/** What a {@link ServeRequest} needs besides its raw request. */
export interface RequestContext {
  /** `http://host:port` when the request has no `Host`. */
  origin: string
  /**
   * Called when a request's `signal` is first read: the server aborts it at once if the
   * connection is already gone (and the response not finished), or aborts it when the
   * connection closes before the response is finished.
   */
  watch(raw: RawRequest, req: ServeRequest): void
}

/** The `Request` `serve()` hands to `fetch`. */
export class ServeRequest {
  #raw: RawRequest
  #ctx: RequestContext
  #url: string | undefined
  #headers: Headers | undefined
  #channel: BodyChannel | undefined
  #stream: ReadableStream<Uint8Array> | null | undefined
  #used = false
  #abort: AbortController | undefined

  constructor(raw: RawRequest, ctx: RequestContext, channel: BodyChannel | undefined) {
    this.#raw = raw
    this.#ctx = ctx
    this.#channel = channel
  }

  get method(): string {
    return this.#raw.method
  }

  get url(): string {
    if (this.#url === undefined) {
      const target = this.#raw.url
      if (target.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(target)) this.#url = target
      else {
        const h = this.#raw.rawHeaders
        let host: string | undefined
        for (let i = 0; i < h.length; i += 2) {
          const n = h[i]!
          if (n.length === 4 && (n === 'Host' || n === 'host' || n.toLowerCase() === 'host')) {
            host = h[i + 1]
            break
          }
        }
        this.#url = (host ? `http://${host}` : this.#ctx.origin) + (target.charCodeAt(0) === 47 ? target : `/${target}`)
      }
    }
    return this.#url
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const h = new Headers()
      const raw = this.#raw.rawHeaders
      for (let i = 0; i < raw.length; i += 2) {
        try {
          h.append(raw[i]!, raw[i + 1]!)
        } catch {
          // A value undici refuses (node:http accepts it): left out, as Deno does.
        }
      }
      this.#headers = h
    }
    return this.#headers
  }

  /**
   * Aborts when the connection closes before the response is finished (a client that goes
   * away while the handler runs or while a streamed body is sent); never after a finished
   * response. Made on first read, as Bun's and Deno's: a request whose handler never reads it
   * costs nothing.
   */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController()
      this.#ctx.watch(this.#raw, this)
    }
    return this.#abort.signal
  }

  /** @internal the engine's record of `req` when it is a request of `serve()`'s engine. */
  static rawOf(req: unknown): RawRequest | undefined {
    return typeof req === 'object' && req !== null && #raw in req ? (req as ServeRequest).#raw : undefined
  }

  /** @internal the connection closed: the signal aborts with `reason`, a streamed body fails with `err`. */
  closed(reason: Error, err: Error): void {
    this.#abort?.abort(reason)
    this.#channel?.fail(err)
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined) {
      const inline = this.#raw.body
      const ch = this.#channel
      if (ch !== undefined) {
        this.#stream = new ReadableStream<Uint8Array>({
          pull: async (c) => {
            const chunk = await ch.next()
            if (chunk === null) {
              c.close()
            } else c.enqueue(new Uint8Array(chunk))
          }
        })
      } else if (inline !== null && inline.length > 0) {
        const bytes = new Uint8Array(inline)
        this.#stream = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes)
            c.close()
          }
        })
      } else this.#stream = null
    }
    return this.#stream
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#stream != null && (this.#stream.locked || (this.#stream as any).disturbed === true))
  }

  async #bytes(): Promise<Buffer> {
    if (this.bodyUsed) throw bodyUsedError()
    this.#used = true
    if (this.#stream != null) {
      const parts: Uint8Array[] = []
      for await (const c of this.#stream as any) parts.push(c)
      return Buffer.concat(parts)
    }
    if (this.#channel !== undefined) return this.#channel.all()
    return this.#raw.body ?? Buffer.alloc(0)
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes()
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer())
  }

  async text(): Promise<string> {
    return decoder.decode(await this.#bytes())
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  async blob(): Promise<Blob> {
    const type = this.headers.get('content-type') ?? ''
    return new Blob([await this.#bytes()], { type })
  }

  async formData(): Promise<FormData> {
    return this.#materialise(await this.#bytes()).formData()
  }

  #materialise(body: Buffer | null): Request {
    const m = this.#raw.method
    const init: RequestInit & { duplex?: 'half' } = { method: m, headers: this.headers, signal: this.signal }
    if (body !== null && m !== 'GET' && m !== 'HEAD') init.body = body
    return new Request(this.url, init)
  }

  /** A real `Request` with the same body (this one's body is used up). */
  clone(): Request {
    if (this.bodyUsed) throw new TypeError('Request.clone: Body has already been consumed.')
    const m = this.#raw.method
    if (m === 'GET' || m === 'HEAD' || (this.#raw.body === null && this.#channel === undefined)) {
      return this.#materialise(null)
    }
    const init: RequestInit & { duplex?: 'half' } = { method: m, headers: this.headers, signal: this.signal }
    const body = this.body
    if (body !== null) {
      const [a, b] = body.tee()
      this.#stream = a
      init.body = b
      init.duplex = 'half'
    }
    return new Request(this.url, init)
  }

  get cache(): string {
    return 'default'
  }
  get credentials(): string {
    return 'same-origin'
  }
  get destination(): string {
    return ''
  }
  get integrity(): string {
    return ''
  }
  get keepalive(): boolean {
    return false
  }
  get mode(): string {
    return 'cors'
  }
  get redirect(): string {
    return 'follow'
  }
  get referrer(): string {
    return 'about:client'
  }
  get referrerPolicy(): string {
    return ''
  }
  get duplex(): 'half' {
    return 'half'
  }
  get isHistoryNavigation(): boolean {
    return false
  }
  get isReloadNavigation(): boolean {
    return false
  }
  get [Symbol.toStringTag](): string {
    return 'Request'
  }
}

// `instanceof Request`, and every Request method a caller may look up on the prototype.
Object.setPrototypeOf(ServeRequest.prototype, Request.prototype)
