// LightResponse (boros/http): the Response serve() installs as globalThis.Response. Checked
// against undici's own Response (the specification here): what a handler can observe of it
// (status, ok, headers, body methods, instanceof, errors thrown at construction), and what goes
// on the wire through serve(): the same bytes (minus Date) as the real Response gives, on this
// backend (io_uring, or the node:http fallback with BOROS_BACKEND=fallback).
import test from 'ava'
import { LightResponse, serve } from 'boros/http'
import { backend } from 'boros/net'
import { exchange } from './fixtures/http-raw.mjs'
import { unless } from './helpers/skip.mjs'

const Real = globalThis.Response

const cases = {
  text: () => ['hello', undefined],
  textHeaders: () => ['hello', { headers: { 'Content-Type': 'text/html', 'X-A': ' spaced ', 'x-n': 42 } }],
  // Header lines are remembered by name with their last value (light-response.ts): the same
  // names again with other values, untrimmed and trimmed, and a name twice in two cases.
  textHeadersAgain: () => ['hello', { headers: { 'Content-Type': 'text/csv', 'X-A': 'spaced', 'x-n': 43 } }],
  textHeadersTrim: () => ['hello', { headers: { 'Content-Type': '\ttext/csv ', 'X-A': ' spaced ' } }],
  nameTwice: () => ['hello', { headers: { 'X-A': '1', 'x-a': '2' } }],
  status: () => ['made', { status: 201, headers: { 'x-b': '1' } }],
  bytes: () => [new Uint8Array([104, 105]), undefined],
  buffer: () => [Buffer.from('buf'), { headers: { 'content-type': 'application/octet-stream' } }],
  arrayBuffer: () => [new Uint8Array([97, 98, 99]).buffer, undefined],
  largeBuffer: () => [Buffer.alloc(100_000, 'z'), undefined],
  empty: () => [null, undefined],
  noContent: () => [null, { status: 204 }],
  statusText: () => ['st', { status: 202, statusText: 'Taken' }],
  headersObject: () => ['h', { headers: new Headers({ 'x-h': '1' }) }],
  arrayHeaders: () => [
    'a',
    {
      headers: [
        ['x-a', '1'],
        ['x-a', '2']
      ]
    }
  ],
  ownLength: () => ['12345', { headers: { 'content-length': '5' } }],
  connectionClose: () => ['bye', { headers: { connection: 'close' } }],
  setCookie: () => ['c', { headers: { 'set-cookie': 'a=1; Path=/' } }],
  blob: () => [new Blob(['blob']), undefined],
  stream: () => [
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('s1'))
        c.enqueue(new TextEncoder().encode('s2'))
        c.close()
      }
    }),
    undefined
  ]
}

test.serial('what a handler sees of a LightResponse is what it sees of a Response', async (t) => {
  for (const [name, make] of Object.entries(cases)) {
    const a = new LightResponse(...make())
    const b = new Real(...make())
    t.true(a instanceof Real, name)
    t.true(a instanceof LightResponse, name)
    t.is(a.status, b.status, name)
    t.is(a.ok, b.ok, name)
    t.is(a.statusText, b.statusText, name)
    t.deepEqual([...a.headers], [...b.headers], name)
    t.is(await a.text(), await b.text(), name)
    t.is(a.bodyUsed, b.bodyUsed, name)
  }
  t.true(new Real('x') instanceof LightResponse, 'a real Response is an instance too')
  const j = LightResponse.json({ a: [1] }, { status: 202 })
  const k = Real.json({ a: [1] }, { status: 202 })
  t.is(j.status, k.status)
  t.deepEqual([...j.headers], [...k.headers])
  t.deepEqual(await j.json(), await k.json())
  const c = new LightResponse('clone me').clone()
  t.is(await c.text(), 'clone me')
})

test.serial('what undici refuses at construction, LightResponse refuses there too', (t) => {
  for (const [body, init] of [
    ['x', { status: 99 }],
    ['x', { status: 600 }],
    ['x', { headers: { 'bad name': '1' } }],
    ['x', { headers: { 'x-v': 'a\r\nb' } }],
    // A name whose line is remembered from an earlier response, with a bad value; a bad name again.
    ['x', { headers: { 'X-A': 'a\nb' } }],
    ['x', { headers: { 'bad name': '2' } }],
    ['x', { status: 204 }],
    ['x', { statusText: 'a\nb' }]
  ]) {
    const want = t.throws(() => new Real(body, init))
    const got = t.throws(() => new LightResponse(body, init))
    t.is(got.constructor, want.constructor, JSON.stringify(init))
  }
  t.throws(() => LightResponse.json(undefined), { instanceOf: TypeError })
})

test.serial('serve() sends a LightResponse as the bytes of the real Response', async (t) => {
  const s = serve({
    port: 0,
    hostname: '127.0.0.1',
    overrideGlobalResponse: false,
    fetch(req) {
      const u = new URL(req.url)
      const make = cases[u.pathname.slice(1)]
      const C = u.searchParams.has('light') ? LightResponse : Real
      return new C(...make())
    }
  })
  t.is(globalThis.Response, Real, 'overrideGlobalResponse: false leaves the global alone')
  await s.ready
  try {
    for (const name of Object.keys(cases)) {
      const get = (q) => exchange(s.port, [`GET /${name}${q} HTTP/1.1\r\nHost: x\r\n\r\n`], { settle: 20 })
      const [light, real] = [await get('?light'), await get('')]
      t.deepEqual(light.responses, real.responses, name)
      t.is(light.closed, real.closed, name)
    }
  } finally {
    await s.stop(true)
  }
})

test.serial('serve() installs LightResponse as globalThis.Response (once), unless told not to', async (t) => {
  const s = serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('hi') })
  await s.ready
  try {
    t.is(globalThis.Response, LightResponse)
    t.true((await fetch(`http://127.0.0.1:${s.port}/`)) instanceof Response, 'fetch() results are still Responses')
    const r = await exchange(s.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { settle: 20 })
    t.is(r.responses[0].body, 'hi')
    t.is(r.responses[0].headers['content-type'], 'text/plain;charset=UTF-8')
  } finally {
    await s.stop(true)
    Object.defineProperty(globalThis, 'Response', { value: Real, writable: true, configurable: true })
  }
})

test.serial('a byte body changed after new Response() is sent as it was (undici copies it there)', async (t) => {
  const s = serve({
    port: 0,
    hostname: '127.0.0.1',
    overrideGlobalResponse: false,
    fetch(req) {
      const u = new URL(req.url)
      const C = u.searchParams.has('light') ? LightResponse : Real
      const size = Number(u.searchParams.get('n'))
      const buf = Buffer.alloc(size, 'a')
      const ab = new Uint8Array(size).fill(98).buffer
      const res = new C(u.pathname === '/ab' ? ab : buf)
      buf.fill('X') // a handler reusing its Buffer after building the response
      new Uint8Array(ab).fill(88)
      return res
    }
  })
  await s.ready
  try {
    for (const path of ['/buf', '/ab'])
      for (const n of [5, 100_000]) {
        const get = (q) => exchange(s.port, [`GET ${path}?n=${n}${q} HTTP/1.1\r\nHost: x\r\n\r\n`], { settle: 20 })
        const [light, real] = [await get('&light'), await get('')]
        t.deepEqual(light.responses, real.responses, `${path} ${n}`)
        t.false(light.responses[0].body.includes('X'), `${path} ${n}`)
      }
  } finally {
    await s.stop(true)
  }
})

test.serial('headers changed after new Response() are sent as they were (undici copies them there)', async (t) => {
  const s = serve({
    port: 0,
    hostname: '127.0.0.1',
    overrideGlobalResponse: false,
    fetch(req) {
      const C = new URL(req.url).searchParams.has('light') ? LightResponse : Real
      const headers = { 'x-a': 'before', 'content-type': 'text/x-before' }
      const res = new C('body', { headers })
      headers['x-a'] = 'after'
      headers['x-b'] = 'added'
      delete headers['content-type']
      return res
    }
  })
  await s.ready
  try {
    const get = (q) => exchange(s.port, [`GET /${q} HTTP/1.1\r\nHost: x\r\n\r\n`], { settle: 20 })
    const [light, real] = [await get('?light'), await get('')]
    t.deepEqual(light.responses, real.responses)
    t.is(light.responses[0].headers['x-a'], 'before')
    t.is(light.responses[0].headers['x-b'], undefined)
    t.is(light.responses[0].headers['content-type'], 'text/x-before')
  } finally {
    await s.stop(true)
  }
})

test.serial('one Buffer refilled between responses: each response sends what it held when built', async (t) => {
  // Held bodies with the same bytes share one copy in engine memory (http/out.rs `hold`), and
  // small bodies share their copy with the last one of the same bytes (light-response.ts
  // `smallCopy`): pipelined responses in flight together, some with the same bytes as a
  // recent one, some not, the Buffer scribbled over after every construction.
  const letters = 'aabababbca'
  for (const size of [70_000, 13]) {
    const buf = Buffer.alloc(size)
    let k = 0
    const s = serve({
      port: 0,
      hostname: '127.0.0.1',
      overrideGlobalResponse: false,
      fetch() {
        buf.fill(letters[k++ % letters.length])
        const res = new LightResponse(buf)
        buf.fill('X')
        return res
      }
    })
    await s.ready
    try {
      const reqs = Array.from({ length: letters.length }, () => 'GET / HTTP/1.1\r\nHost: x\r\n\r\n').join('')
      // All ten awaited (not 50 ms after the first): 700 KB can take longer on a loaded machine.
      const r = await exchange(s.port, [reqs], { expect: letters.length, settle: 50 })
      t.is(r.responses.length, letters.length)
      for (const [i, res] of r.responses.entries())
        t.true(res.body === letters[i].repeat(size), `${size} B, response ${i}`)
    } finally {
      await s.stop(true)
    }
  }
})

test.serial('a large byte body is copied into engine memory once serve() runs, and reads back the same', async (t) => {
  const s = serve({ port: 0, hostname: '127.0.0.1', overrideGlobalResponse: false, fetch: () => new Real('x') })
  await s.ready
  try {
    // Built after serve(): on the ring the body is held in engine memory (HeldBody), not a Uint8Array.
    const bytes = Buffer.alloc(70_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff
    const a = new LightResponse(bytes, { headers: { 'content-type': 'application/x-a' } })
    const b = new LightResponse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
    bytes.fill(0)
    t.deepEqual(Buffer.from(await a.clone().arrayBuffer()), Buffer.from(await new Real(a.body).arrayBuffer()))
    const got = Buffer.from(await b.arrayBuffer())
    t.is(got.length, 70_000)
    t.is(got[1], 7)
    t.is(got[69_999], (69_999 * 7) & 0xff)
    t.true(b.bodyUsed)
    await t.throwsAsync(() => b.text(), { instanceOf: TypeError })
  } finally {
    await s.stop(true)
  }
})

unless(backend === 'io_uring' ? undefined : 'the fallback sends undici’s Response', { serial: true })(
  'a LightResponse with a large byte body returned twice: the second is the error handler’s',
  async (t) => {
    let res
    const errors = []
    const s = serve({
      port: 0,
      hostname: '127.0.0.1',
      overrideGlobalResponse: false,
      fetch: () => res,
      error: (err) => {
        errors.push(err)
        return new Real('again', { status: 500 })
      }
    })
    res = new LightResponse(Buffer.alloc(20_000, 'q'))
    await s.ready
    try {
      const get = () => exchange(s.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { settle: 20 })
      const first = (await get()).responses[0]
      t.is(first.status, 200)
      t.is(first.body, 'q'.repeat(20_000))
      const second = (await get()).responses[0]
      t.is(second.status, 500)
      t.is(second.body, 'again')
      t.is(errors.length, 1)
      t.true(errors[0] instanceof TypeError)
      // Read after it was sent: a used body, as undici's after its body was read.
      await t.throwsAsync(() => res.text(), { instanceOf: TypeError })
    } finally {
      await s.stop(true)
    }
  }
)
