/**
 * A `Response` that costs what a plain object costs until someone looks inside it.
 *
 * In Node, `new Response('hello', { headers })` builds a `ReadableStream` for the body (made
 * transferable, which is most of its cost), a `Headers` and its list: about half the CPU a
 * `serve()` hello-world spends per request (a `--cpu-prof` under `wrk`). Most handlers only
 * return the response. `LightResponse` keeps the body and init as given when they are the common
 * kinds (a string, bytes or nothing; a plain init object with plain-object headers), and
 * `serve()` reads those directly ({@link fastParts}); anything else (reading `headers`, `body`,
 * `text()`, other body kinds...) builds the real `Response` once and delegates to it, so the
 * behaviour is undici's. `instanceof Response` holds for it and for real ones.
 *
 * `serve()` installs it as `globalThis.Response` (as `@hono/node-server` does with its
 * lightweight Response) unless `overrideGlobalResponse: false`; it is also exported.
 * @module
 */
import { nativeBinding } from '../binding.js'
import { hintOf } from './head-lines.js'
import { BorosFile } from './file.js'

const GlobalResponse: typeof Response = globalThis.Response
const kReal = Symbol('boros.realResponse')
const kFast = Symbol('boros.fastResponse')

/**
 * A byte body copied into the engine's memory when its response was built (`serve()` on the
 * ring, bodies of {@link HOLD_MIN} bytes or more). A new `ArrayBuffer` per response would be
 * external memory to V8, freed only by full collections: at 64 KiB x 1,000 connections that was
 * 26 Mark-Compacts in 3 s (docs/http.md). The send takes the bytes (`used`): a body is sent once,
 * as a real `Response`'s body is read once.
 */
export class HeldBody {
  used = false
  constructor(
    readonly handle: object,
    readonly length: number
  ) {}
}

/** Byte bodies from this size on are held in engine memory (see {@link HeldBody}). */
export const HOLD_MIN = 1024

let hold: ((view: Uint8Array) => object) | undefined

/** From now on, byte bodies are copied into engine memory (`serve()` on the ring calls it). */
export function holdBodies(): void {
  hold ??= nativeBinding()?.httpBodyHold
}

/** The bytes of a held body as a Buffer for a real Response, or null when a send took them. */
function release(b: HeldBody): Buffer | null {
  if (b.used) return null
  b.used = true
  return nativeBinding()!.httpBodyRelease(b.handle)
}

/** What `serve()` sends without building the real response. */
export class FastParts {
  constructor(
    readonly status: number,
    /** `undefined`: no body. */
    readonly body: string | Uint8Array | HeldBody | BorosFile | undefined,
    /** The header lines (`name: value\r\n`), made when the response was built ({@link headOf}). */
    readonly head: string,
    /** Their `wire.HTTP_H_*` hints. */
    readonly hints: number,
    /** Whether they have a `content-type`. */
    readonly typed: boolean
  ) {}

  /**
   * The headers as they were when the response was built (names lower-cased, values trimmed),
   * or undefined when it has none: for the real `Response` and for `serve()` on node:http.
   */
  get headers(): Record<string, string> | undefined {
    if (this.head === '') return undefined
    const out: Record<string, string> = {}
    for (const line of this.head.split('\r\n')) {
      const i = line.indexOf(': ')
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 2)
    }
    return out
  }
}

const OBJECT_PROTO = Object.prototype

function plain(o: unknown): o is Record<string, unknown> {
  if (o === null || typeof o !== 'object') return false
  const p = Object.getPrototypeOf(o)
  return p === OBJECT_PROTO || p === null
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_VALUE = /[\r\n\0]/

/**
 * Plain-object headers as the header lines undici would send (names lower-cased, values
 * trimmed), made when the response is built, as undici's `Headers` copies them then (a
 * handler changing its object afterwards does not change what is sent). Undefined where
 * undici alone may judge: an invalid name, CR/LF/NUL in a value, a name twice (so what undici
 * would throw at construction still throws there), `transfer-encoding` (framing goes
 * undici's way).
 */
function headOf(h: Record<string, unknown>): { head: string; hints: number; typed: boolean } | undefined {
  let head = ''
  let hints = 0
  let typed = false
  let first: string | undefined
  let seen: string[] | undefined
  for (const k in h) {
    const v = h[k]
    if (v === undefined) return undefined
    const line = lineOf(k, typeof v === 'string' ? v : String(v))
    if (line === undefined) return undefined
    const name = line.name
    if (first === undefined) first = name
    else {
      seen ??= [first]
      if (seen.includes(name)) return undefined
      seen.push(name)
    }
    if (name === 'transfer-encoding') return undefined
    if (name === 'content-type') typed = true
    head = head === '' ? line.line : head + line.line
    // A length of the handler's own: undici sends it as given; so does the engine.
    hints |= line.hints
  }
  return { head, hints, typed }
}

/** One header's line as {@link headOf} sends it, for the value it was last made with. */
class HeaderLine {
  /** The value as given (untrimmed); `undefined` until the first one. */
  value: string | undefined = undefined
  /** `name: value\r\n`, the value trimmed. */
  line = ''
  hints = 0
  constructor(
    /** The name lower-cased. */
    readonly name: string
  ) {}
}

/**
 * Header lines by name as given (`null`: not a token), each remembering the last value it was
 * made for. Handlers send the same few names, mostly with the same values, on every response:
 * validating, lower-casing and joining them again each time was ~1.5–2% of a `serve()`
 * hello world's CPU. Bounded: emptied when it reaches {@link LINES_MAX} names.
 */
const LINES = new Map<string, HeaderLine | null>()
const LINES_MAX = 256

/** Header `k` with `value` as a line, or undefined where undici alone may judge it. */
function lineOf(k: string, value: string): HeaderLine | undefined {
  let e = LINES.get(k)
  if (e === null) return undefined
  if (e === undefined) {
    if (LINES.size >= LINES_MAX) LINES.clear()
    if (!TOKEN.test(k)) {
      LINES.set(k, null)
      return undefined
    }
    e = new HeaderLine(k.toLowerCase())
    LINES.set(k, e)
  }
  if (e.value !== value) {
    if (BAD_VALUE.test(value)) return undefined
    let v = value
    if (v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32))
      v = v.replace(/^[\t ]+|[\t ]+$/g, '')
    e.line = `${e.name}: ${v}\r\n`
    e.hints = hintOf(e.name, v)
    e.value = value
  }
  return e
}

const NO_HEADERS = { head: '', hints: 0, typed: false }

/** The parts of a body + init the fast path can send as they are, or undefined. */
function partsOf(body: unknown, init: unknown): FastParts | undefined {
  if (
    !(
      body == null ||
      typeof body === 'string' ||
      body instanceof Uint8Array ||
      body instanceof ArrayBuffer ||
      body instanceof BorosFile
    )
  )
    return undefined
  let status = 200
  let head: ReturnType<typeof headOf> = NO_HEADERS
  if (init !== undefined) {
    if (!plain(init)) return undefined
    // Anything but status and headers (statusText...) goes to undici, which validates it.
    for (const k in init) if (k !== 'status' && k !== 'headers') return undefined
    const s = init.status
    if (s !== undefined) {
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 200 || s > 599) return undefined
      status = s
    }
    const h = init.headers
    if (h !== undefined) {
      if (!plain(h)) return undefined
      head = headOf(h)
      if (head === undefined) return undefined
    }
  }
  // A body with a null-body status is undici's TypeError to throw.
  if (body != null && (status === 204 || status === 205 || status === 304)) return undefined
  // Bytes are copied here, as undici's Response copies a BufferSource when it is constructed
  // (Fetch "extract a body"): a handler that changes or reuses its Buffer after `new Response`
  // does not change what is sent. The engine then sends this private copy without another one.
  return new FastParts(status, bytesOf(body), head.head, head.hints, head.typed)
}

/**
 * A body's bytes, copied when they are a caller's ArrayBuffer or view (see partsOf): into
 * engine memory when bodies are held ({@link HeldBody}), else into a Buffer. `Buffer.from`
 * copies a small body into Node's shared pool: a `new Uint8Array` of up to 64 bytes lives on
 * V8's heap, and the engine reading its bytes (`napi_get_buffer_info`) makes V8 give it an
 * `ArrayBuffer` of its own (a malloc, a backing store to sweep); a larger one is a malloc'd
 * backing store per response.
 */
function bytesOf(body: string | Uint8Array | ArrayBuffer | BorosFile | null | undefined): FastParts['body'] {
  const view = body instanceof ArrayBuffer ? new Uint8Array(body) : body
  if (view instanceof Uint8Array) {
    if (hold !== undefined && view.byteLength >= HOLD_MIN) return new HeldBody(hold(view), view.byteLength)
    if (view.byteLength <= SMALL_MAX) return smallCopy(view)
    return Buffer.from(view)
  }
  return view ?? undefined
}

/** Bodies up to this size share their copy with the last one of the same bytes ({@link smallCopy}). */
const SMALL_MAX = 128
let lastSmall: Buffer | undefined

/**
 * A private copy of a small body: the last one made when it holds the same bytes (a handler
 * answering with one constant `Buffer` compares 13 bytes instead of making a Buffer per
 * response). Safe to share: nobody writes into these copies (the engine copies small bodies
 * into the connection's output; a real Response built from one copies it again).
 */
function smallCopy(view: Uint8Array): Buffer {
  const last = lastSmall
  if (last !== undefined && last.byteLength === view.byteLength) {
    let i = 0
    while (i < view.byteLength && last[i] === view[i]) i++
    if (i === view.byteLength) return last
  }
  lastSmall = Buffer.from(view)
  return lastSmall
}

/** The real Response for what a LightResponse kept. */
function realOf(body: unknown, init: unknown): Response {
  const make = (b: unknown) => new GlobalResponse(b as ConstructorParameters<typeof Response>[0], init as ResponseInit)
  if (!(body instanceof HeldBody)) return make(body)
  const bytes = release(body)
  if (bytes !== null) return make(bytes)
  // Sent already: a body that was read, as a real Response's is once sent.
  const x = make(new ReadableStream())
  void x.body?.getReader()
  return x
}

/** The fetch `Response`, built only when something looks inside it. */
export class LightResponse {
  [kReal]: Response | undefined;
  [kFast]: FastParts | undefined
  #body: unknown

  constructor(body?: unknown, init?: unknown) {
    const parts = partsOf(body, init)
    if (parts === undefined)
      this[kReal] = new GlobalResponse(body as ConstructorParameters<typeof Response>[0], init as ResponseInit)
    else {
      this[kFast] = parts
      // The real Response, if one is ever built, takes the same copied bytes (not the caller's).
      this.#body = parts.body ?? body
    }
  }

  get status(): number {
    return this[kFast]?.status ?? real(this).status
  }

  get ok(): boolean {
    const s = this.status
    return s >= 200 && s < 300
  }

  /** `Response.json()`, light when the init is. */
  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data)
    if (typeof text === 'string' && (init === undefined || plain(init))) {
      const h = init?.headers
      if (h === undefined || plain(h)) {
        let has = false
        if (h !== undefined) for (const k in h) if (k.length === 12 && k.toLowerCase() === 'content-type') has = true
        const headers = has ? h : { ...h, 'content-type': 'application/json' }
        return new LightResponse(text, { ...init, headers }) as unknown as Response
      }
    }
    return GlobalResponse.json(data, init)
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return x !== null && typeof x === 'object' && Object.prototype.isPrototypeOf.call(GlobalResponse.prototype, x)
  }

  /** @internal the real response (built now if it was not). */
  static _real(r: LightResponse): Response {
    let x = r[kReal]
    if (x === undefined) {
      // Status and headers as they were at construction (undici copies them then).
      const f = r[kFast]!
      x = realOf(r.#body, { status: f.status, headers: f.headers })
      r[kReal] = x
      r[kFast] = undefined
      r.#body = undefined
    }
    return x
  }
}

function real(r: LightResponse): Response {
  return LightResponse._real(r)
}

/** The fast parts of `r` when it is a LightResponse nobody looked inside; else undefined. */
export function fastParts(r: unknown): FastParts | undefined {
  return r instanceof Object && kFast in r ? (r as LightResponse)[kFast] : undefined
}

/** The real response behind `r` (itself when it is one). */
export function realResponse(r: Response): Response {
  return kReal in r ? real(r as unknown as LightResponse) : r
}

// Everything else of Response.prototype delegates to the real response.
for (const key of Reflect.ownKeys(GlobalResponse.prototype)) {
  if (key === 'constructor' || key === 'status' || key === 'ok' || key === Symbol.toStringTag) continue
  const d = Object.getOwnPropertyDescriptor(GlobalResponse.prototype, key)!
  if (typeof d.get === 'function') {
    Object.defineProperty(LightResponse.prototype, key, {
      configurable: true,
      enumerable: d.enumerable ?? false,
      get(this: LightResponse) {
        return Reflect.get(real(this), key)
      }
    })
  } else if (typeof d.value === 'function') {
    Object.defineProperty(LightResponse.prototype, key, {
      configurable: true,
      enumerable: d.enumerable ?? false,
      writable: true,
      value(this: LightResponse, ...args: unknown[]) {
        const x = real(this)
        return Reflect.apply(Reflect.get(x, key) as (...a: unknown[]) => unknown, x, args)
      }
    })
  }
}
Object.setPrototypeOf(LightResponse.prototype, GlobalResponse.prototype)
Object.setPrototypeOf(LightResponse, GlobalResponse)

/** Makes `globalThis.Response` the light one (once; a no-op when it already is). */
export function installLightResponse(): void {
  if (globalThis.Response === (LightResponse as unknown)) return
  if (globalThis.Response !== GlobalResponse) return // someone else's: leave it
  Object.defineProperty(globalThis, 'Response', {
    value: LightResponse,
    writable: true,
    configurable: true,
    enumerable: false
  })
}

export { GlobalResponse }
