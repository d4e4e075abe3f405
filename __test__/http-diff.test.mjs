// The HTTP differential suite: the same requests against node:http (the specification) and a
// target server, compared as records: status, headers (minus Date), bodies, connection state
// (kept alive / closed), what the server reported (clientError codes), error and timeout
// behaviour. Clients: undici's fetch, http.request with a keep-alive agent, curl (when
// installed), raw sockets for malformed, pipelined, split and slow input.
//
// Targets: node:http on boros/net sockets (today; on the ring, and on the fallback in a second
// run below), and boros/http's createServer once this build has it (skipped until then).
// Helpers: __test__/helpers/http-diff.mjs.
import test from 'ava'
import { spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import {
  app,
  borosCreateServerFactory,
  curlBin,
  nodeHttp,
  nodeHttpOnBorosNet,
  viaCurl,
  viaDisconnect,
  viaFetch,
  viaHttpRequest,
  viaRaw
} from './helpers/http-diff.mjs'
import { unless } from './helpers/skip.mjs'

const targets = [['node:http on boros/net', nodeHttpOnBorosNet]]
const createServer = await borosCreateServerFactory()
if (createServer) targets.push(['boros/http createServer', createServer])

/** Runs `client(port)` against node:http and the target, each with its own fresh server. */
async function both(factory, client, options = {}, handler = app) {
  const out = []
  for (const make of [nodeHttp, factory]) {
    const server = await make(handler, options)
    try {
      const result = await client(server.port)
      // Let the server see what it sees after the client is done (a close, a clientError).
      await new Promise((r) => setTimeout(r, 20))
      out.push({ result, events: server.events })
    } finally {
      await server.close()
    }
  }
  return out
}

const BODY_4K = Buffer.alloc(4096, 'abcdefghijklmnop').toString()
const GET = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

const cases = [
  // ----- undici fetch
  ['fetch GET /', (p) => viaFetch(p, '/')],
  ['fetch GET /json (1 KiB JSON)', (p) => viaFetch(p, '/json')],
  [
    'fetch POST /echo (4 KiB)',
    (p) => viaFetch(p, '/echo', { method: 'POST', body: BODY_4K, headers: { 'content-type': 'text/plain' } })
  ],
  ['fetch GET /chunked (no length: chunked)', (p) => viaFetch(p, '/chunked')],
  ['fetch HEAD /json', (p) => viaFetch(p, '/json', { method: 'HEAD' })],
  [
    'fetch 204, 304, 404',
    async (p) => [await viaFetch(p, '/status/204'), await viaFetch(p, '/status/304'), await viaFetch(p, '/nope')]
  ],
  ['fetch GET /headers (arrays, numbers, writeHead with a status message)', (p) => viaFetch(p, '/headers')],
  ['fetch GET /write-head-object (pairs as given, chunked, getHeader after)', (p) => viaFetch(p, '/write-head-object')],
  ['fetch GET /write-head-invalid (what writeHead refuses)', (p) => viaFetch(p, '/write-head-invalid')],
  ['fetch GET /request (IncomingMessage fields)', (p) => viaFetch(p, '/request?q=1', { headers: { 'X-One': '1' } })],
  ['fetch GET /big (256 KiB)', (p) => viaFetch(p, '/big')],
  [
    "fetch GET /swapped (node's prototypes put under req and res, as Express does)",
    (p) => viaFetch(p, '/swapped?x=1', { headers: { 'X-One': '1' } })
  ],
  ["raw: removeHeader('date') sends no Date", (p) => viaRaw(p, [GET('/no-date')])],
  // ----- http.request, one keep-alive connection
  [
    'http.request: five requests on one keep-alive socket, then Connection: close',
    (p) =>
      viaHttpRequest(p, [
        { path: '/' },
        { method: 'POST', path: '/echo', body: BODY_4K, headers: { 'content-type': 'text/plain' } },
        { path: '/chunked' },
        { method: 'HEAD', path: '/' },
        { path: '/close' }
      ])
  ],
  [
    'http.request: a body-less request read late; the events of a request and its response',
    (p) => viaHttpRequest(p, [{ path: '/late-read' }, { path: '/lifecycle' }, { path: '/lifecycle-log' }])
  ],
  // ----- raw sockets
  ['raw: three pipelined requests in one write', (p) => viaRaw(p, [GET('/') + GET('/json') + GET('/chunked')])],
  [
    'raw: a POST split into 7-byte pieces',
    (p) => {
      const req = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n${'0123456789'.repeat(4)}`
      const parts = []
      for (let i = 0; i < req.length; i += 7) parts.push(req.slice(i, i + 7))
      return viaRaw(p, parts, { gapMs: 2 })
    }
  ],
  [
    'raw: chunked request body',
    (p) =>
      viaRaw(p, [
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
      ])
  ],
  [
    'raw: three chunked requests pipelined in one write (each body its own)',
    (p) => {
      const req = (b) =>
        `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${b.length}\r\n${b}\r\n0\r\n\r\n`
      return viaRaw(p, [req('one') + req('second') + req('3')])
    }
  ],
  [
    "raw: Upgrade and no 'upgrade' listener: an ordinary request (its body read, the connection kept; llhttp drops the rest of that read)",
    (p) =>
      viaRaw(p, [
        `POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 3\r\n\r\nabc${GET('/json')}`
      ])
  ],
  [
    "raw: CONNECT and no 'connect' listener: the socket is destroyed unanswered",
    (p) => viaRaw(p, ['CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n'])
  ],
  [
    'malformed: Content-Length or Transfer-Encoding among request trailers',
    async (p) => {
      const req = (t) =>
        `POST /trailers-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${t}\r\n`
      return [
        await viaRaw(p, [req('Content-Length: 5\r\n')]),
        await viaRaw(p, [req('X-A: 1\r\nTransfer-Encoding: gzip\r\n')]),
        await viaRaw(p, [req('transfer-encoding: chunked\r\nContent-Length: 5\r\n')])
      ]
    }
  ],
  [
    'malformed: a bare LF (request line, header line, last line, after chunk data, in trailers) and chunk data not ended by CRLF',
    async (p) => {
      const chunked = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
      const out = []
      for (const bytes of [
        'GET / HTTP/1.1\nHost: x\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\n\n',
        `${chunked}3\r\nabc\n0\r\n\r\n`,
        `${chunked}3\r\nabcX\r\n0\r\n\r\n`,
        `${chunked}3\r\nabc\rX0\r\n\r\n`,
        `${chunked}1\r\na\r\n0\r\nX-A: 1\n\r\n`,
        `${chunked}1\r\na\r\n0\r\nX-A: 1\r\n\n`,
        `${chunked}1\r\na\r\n0\r\n\n`
      ])
        out.push(await viaRaw(p, [bytes]))
      return out
    }
  ],
  [
    'raw: request trailers (several fields, a duplicate, set-cookie; read at the end and before)',
    (p) => {
      const body = 'POST /trailers-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n'
      const rest =
        '5\r\nhello\r\n0\r\nX-T: yes\r\nX-Dup: a\r\nx-dup: b\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\nX-Empty:\r\n\r\n'
      return viaRaw(p, [body + rest, body.replace('/trailers-in', '/trailers-in?early') + rest])
    }
  ],
  [
    'raw: request trailers split into 7-byte pieces, then a pipelined request',
    (p) => {
      const req = `POST /trailers-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-A: 1\r\nX-B: two\r\n\r\n${GET('/json')}`
      const parts = []
      for (let i = 0; i < req.length; i += 7) parts.push(req.slice(i, i + 7))
      return viaRaw(p, parts, { gapMs: 2 })
    }
  ],
  [
    'raw: 40 request trailer fields',
    (p) => {
      let t = ''
      for (let i = 0; i < 40; i++) t += `X-T${i}: v${i}\r\n`
      return viaRaw(p, [
        `POST /trailers-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n${t}\r\n`
      ])
    }
  ],
  [
    'raw: request trailers over maxHeaderSize (and a head under it)',
    (p) =>
      viaRaw(p, [
        `POST /trailers-in HTTP/1.1\r\nHost: x\r\nX-H: ${'h'.repeat(700)}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Big: ${'b'.repeat(1500)}\r\n\r\n`
      ]),
    { maxHeaderSize: 1024 }
  ],
  [
    'raw: request trailers just under maxHeaderSize, after a head near it',
    (p) =>
      viaRaw(p, [
        `POST /trailers-in HTTP/1.1\r\nHost: x\r\nX-H: ${'h'.repeat(900)}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Big: ${'b'.repeat(900)}\r\n\r\n`
      ]),
    { maxHeaderSize: 1024 }
  ],
  [
    'malformed: a space in a request trailer name',
    (p) =>
      viaRaw(p, [
        'POST /trailers-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nBad Name: x\r\n\r\n'
      ])
  ],
  [
    'raw: duplicate headers joined as Node joins them',
    (p) =>
      viaRaw(p, [
        GET(
          '/request',
          'X-Dup: a\r\nX-Dup: b\r\nCookie: c=1\r\nCookie: d=2\r\nContent-Type: text/a\r\nContent-Type: text/b\r\nAccept: x\r\nAccept: y\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\n'
        )
      ])
  ],
  [
    'raw: duplicate headers joined with the joinDuplicateHeaders option',
    (p) =>
      viaRaw(p, [
        GET(
          '/request',
          'X-Dup: a\r\nX-Dup: b\r\nAccept: x\r\nAccept: y\r\nContent-Type: text/a\r\nContent-Type: text/b\r\n'
        )
      ]),
    { joinDuplicateHeaders: true }
  ],
  ['raw: HTTP/1.0 without keep-alive closes', (p) => viaRaw(p, ['GET / HTTP/1.0\r\n\r\n'])],
  [
    'raw: HTTP/1.0 with Connection: keep-alive stays open',
    (p) => viaRaw(p, ['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'])
  ],
  ['raw: Connection: close from the client', (p) => viaRaw(p, [GET('/', 'Connection: close\r\n')])],
  ['raw: HTTP/1.1 without Host: 400 and closed (requireHostHeader)', (p) => viaRaw(p, ['GET / HTTP/1.1\r\n\r\n'])],
  [
    'raw: HTTP/1.1 without Host, requireHostHeader: false',
    (p) => viaRaw(p, ['GET / HTTP/1.1\r\n\r\n']),
    { requireHostHeader: false }
  ],
  ['raw: HTTP/1.0 without Host is answered', (p) => viaRaw(p, ['GET /json HTTP/1.0\r\n\r\n'])],
  ['raw: HEAD gets no body', (p) => viaRaw(p, ['HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n'])],
  [
    'raw: Expect: 100-continue',
    (p) =>
      viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', 'hello'], {
        gapMs: 50
      })
  ],
  [
    'raw: response trailers (chunked, a Trailer header, a body with a length, HTTP/1.0)',
    (p) =>
      viaRaw(p, [GET('/trailers'), GET('/trailers-header'), GET('/trailers-length'), 'GET /trailers HTTP/1.0\r\n\r\n'])
  ],
  [
    'raw: end() with nothing written (Content-Length: 0)',
    (p) => viaRaw(p, [GET('/empty-end'), GET('/empty-end', 'Connection: close\r\n')])
  ],
  ['raw: the client half-closes after its request', (p) => viaRaw(p, [GET('/')], { endAfterWrite: true })],
  ['raw: response destroyed after its head', (p) => viaRaw(p, [GET('/throw-after-head')])],
  // malformed input: 400/431 and the connection closed, clientError with Node's code
  ['malformed: space in a header name', (p) => viaRaw(p, [GET('/', 'Bad Header: x\r\n')])],
  ['malformed: obs-fold', (p) => viaRaw(p, [GET('/', 'X-A: one\r\n two\r\n')])],
  [
    'malformed: Content-Length and Transfer-Encoding together',
    (p) =>
      viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'])
  ],
  [
    'malformed: two different Content-Lengths',
    (p) => viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'])
  ],
  [
    'malformed: bad chunk size',
    (p) => viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'])
  ],
  ['malformed: header block over 16 KiB (431)', (p) => viaRaw(p, [GET('/', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`)])],
  [
    'malformed: a tab after Content-Length (400 on Node 20, taken on 24)',
    (p) => viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\t\r\n\r\nhello'])
  ],
  ['malformed: garbage request line', (p) => viaRaw(p, ['HELLO\r\n\r\n'])],
  [
    'malformed: Transfer-Encoding, then Content-Length',
    (p) =>
      viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'])
  ],
  [
    'malformed: Transfer-Encoding: chunked twice',
    (p) =>
      viaRaw(p, [
        'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
      ])
  ],
  ['maxRequestsPerSocket: Keep-Alive says max=N', (p) => viaRaw(p, [GET('/')]), { maxRequestsPerSocket: 3 }],
  [
    'malformed: whitespace in a chunk size',
    (p) => viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n'])
  ],
  [
    'malformed: a chunk size line that is only a tab',
    (p) => viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n\t\r\n\r\n'])
  ],
  ['raw: empty lines before the request line are skipped', (p) => viaRaw(p, [`\r\n\n\r${GET('/')}`])],
  ['raw: several spaces in the request line', (p) => viaRaw(p, ['GET  /json  HTTP/1.1\r\nHost: x\r\n\r\n'])],
  [
    'raw: the client ends inside a request body',
    (p) =>
      viaRaw(p, ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello'], {
        endAfterWrite: true,
        quietMs: 1000
      })
  ],
  [
    'raw: the client ends inside a request head',
    (p) => viaRaw(p, ['GET / HTTP/1.1\r\nHost: x\r\n'], { endAfterWrite: true, quietMs: 1000 })
  ],
  [
    'raw: line ends after a Connection: close request are ignored',
    (p) => viaRaw(p, [`${GET('/', 'Connection: close\r\n')}\r\n`])
  ],
  ['refused: HTTP/1.1 without Host (400)', (p) => viaRaw(p, ['GET / HTTP/1.1\r\n\r\n'])],
  ['HTTP/1.0 without Host is served', (p) => viaRaw(p, ['GET /json HTTP/1.0\r\n\r\n'])],
  ['refused: Expect other than 100-continue (417)', (p) => viaRaw(p, [GET('/', 'Expect: tea\r\n')])],
  [
    'malformed: a request answered later (async handler), then garbage',
    (p) => viaRaw(p, [`${GET('/slow')}BAD\u0001 / HTTP/1.1\r\n\r\n`])
  ],
  [
    'malformed: a good request, then garbage on the same connection',
    (p) => viaRaw(p, [`${GET('/')}BAD\u0001 / HTTP/1.1\r\n\r\n`])
  ]
]

// node:http checks headersTimeout/requestTimeout from its connection tracking, which it starts
// on 'listening' (setupConnectionsTracking): an http.Server that is only handed sockets with
// emit('connection') never listens, so it never times a slow request out. That is node:http's
// behaviour with any handed-over socket (node:net's too), a known gap of the pattern: the case
// is expected to differ there (test.failing turns red the day it stops differing).
const headersTimeoutCase = [
  'timeout: headersTimeout (a head that never ends) → 408, closed',
  (p) => viaRaw(p, ['GET / HTTP/1.1\r\nHost: x\r\n'], { quietMs: 1500 }),
  { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 },
  { handedOverGap: true }
]
const slowCases = [
  headersTimeoutCase,
  [
    // node:http times a new connection's first head from the connection (408 after
    // headersTimeout), not as an idle keep-alive connection (keepAliveTimeout, silently).
    'timeout: a connection that sends nothing → 408 after headersTimeout, not keepAliveTimeout',
    (p) => viaRaw(p, [], { quietMs: 1500 }),
    { headersTimeout: 400, requestTimeout: 800, keepAliveTimeout: 100, connectionsCheckingInterval: 50 },
    { handedOverGap: true }
  ],
  // A client that goes away while its response is pending: node:http aborts the request (its
  // 'aborted', 'error' ECONNRESET "aborted", 'close'), closes the response ('close', not
  // finished), sends nothing more, and a late end() finishes nothing.
  ...['destroy', 'end', 'reset'].flatMap((how) => [
    [`disconnect: the client goes away (${how}) before the response`, (p) => viaDisconnect(p, '/hang', how)],
    [
      `disconnect: the client goes away (${how}) during a streamed response`,
      (p) => viaDisconnect(p, '/hang-stream', how)
    ]
  ]),
  [
    'timeout: keepAliveTimeout closes an idle connection after a response',
    // node:http closes after keepAliveTimeout plus its keepAliveTimeoutBuffer (1 s on recent
    // Nodes): wait past both.
    (p) => viaRaw(p, [GET('/')], { quietMs: 2500 }),
    { keepAliveTimeout: 200 }
  ]
]

if (curlBin) {
  cases.push(
    ['curl: GET /, /json, /chunked on one connection', (p) => viaCurl(p, ['/', '/json', '/chunked'])],
    ['curl: HTTP/1.0', (p) => viaCurl(p, ['/json'], ['--http1.0'])],
    [
      'curl: POST --data-binary',
      (p) => viaCurl(p, ['/echo'], ['--data-binary', BODY_4K, '-H', 'content-type: text/plain'])
    ],
    ['curl: HEAD', (p) => viaCurl(p, ['/json'], ['-I'])]
  )
} else {
  test.skip('curl cases: curl is not installed here', () => {})
}

// Where boros/http's engine still answers differently from node:http (found by this suite;
// the engine's, src-ts/http/engine.ts and the binding). test.failing: each turns red the day the
// engine matches node, and then moves out of this list.
const ENGINE_DIFFERS = new Map([])

for (const [target, factory] of targets) {
  const handedOver = target === 'node:http on boros/net'
  for (const [name, client, options, flags] of [...cases, ...slowCases]) {
    let define = flags?.handedOverGap && handedOver ? test.failing : test
    const engine = !handedOver && factory.backend === 'io_uring'
    if (engine && ENGINE_DIFFERS.has(name)) define = test.failing
    define(
      `${target}: ${name}${!handedOver && ENGINE_DIFFERS.has(name) ? ` [known: ${ENGINE_DIFFERS.get(name)}]` : ''}`,
      async (t) => {
        const [spec, got] = await both(factory, client, options)
        t.deepEqual(got.result, spec.result, 'what the client saw')
        t.deepEqual(got.events, spec.events, 'what the server reported')
      }
    )
  }
}
if (createServer)
  test("boros/http createServer: an 'upgrade' listener added after listen() and removed again, as on node:http", async (t) => {
    const http = await import('node:http')
    const boros = await import('../dist/http/index.js')
    const req = 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nafter'
    const run = async (make) => {
      const server = make((_req, res) => res.end('request'))
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = server.address().port
      const onUpgrade = (r, socket, head) => socket.end(`HTTP/1.1 101 Switching Protocols\r\n\r\n${r.url} [${head}]`)
      try {
        const before = await viaRaw(port, [req])
        server.on('upgrade', onUpgrade)
        const listened = await viaRaw(port, [req])
        server.off('upgrade', onUpgrade)
        const after = await viaRaw(port, [req])
        // A request sent once the answer came (another read) is parsed as any other.
        const later = await new Promise((resolve) => {
          const s = net.connect(port, '127.0.0.1')
          let text = ''
          let sent = false
          s.setEncoding('latin1')
          s.on('data', (d) => {
            text += d
            if (text.endsWith('request') && !sent) {
              sent = true
              s.write('GET /z HTTP/1.1\r\nHost: x\r\n\r\n')
            }
            if (text.split('request').length === 3) {
              s.destroy()
              resolve(text.replace(/Date: .*\r\n/g, ''))
            }
          })
          s.write(req)
        })
        return { before, listened, after, later }
      } finally {
        server.closeAllConnections()
        server.close()
      }
    }
    t.deepEqual(await run(boros.createServer), await run(http.createServer))
  })
if (createServer)
  test("boros/http createServer: CONNECT with a 'connect' listener gets (req, socket, head) as on node:http", async (t) => {
    const http = await import('node:http')
    const boros = await import('../dist/http/index.js')
    const run = async (make) => {
      const server = make((_req, res) => res.end('request'))
      server.on('connect', (req, socket, head) => {
        socket.end(`HTTP/1.1 200 Connection Established\r\n\r\n${req.method} ${req.url} [${head}]`)
      })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        return await viaRaw(server.address().port, ['CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\nearly'])
      } finally {
        server.closeAllConnections()
        server.close()
      }
    }
    t.deepEqual(await run(boros.createServer), await run(http.createServer))
  })
if (!createServer)
  test.skip('boros/http createServer: not in this build (dist/http/index.js has no createServer yet)', () => {})

// The same suite with boros/net on its fallback (node:net), in a child process.
unless(process.env.BOROS_HTTP_DIFF_CHILD ? 'this is the fallback child the test starts' : undefined)(
  'node:http on boros/net, fallback backend: the same suite',
  async (t) => {
    const file = fileURLToPath(import.meta.url)
    const ava = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url))
    const r = await new Promise((resolve) => {
      const p = spawn(process.execPath, [ava, file, '--match', 'node:http on boros/net:*'], {
        env: { ...process.env, BOROS_BACKEND: 'fallback', BOROS_HTTP_DIFF_CHILD: '1' }
      })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (out += d))
      p.on('close', (code) => resolve({ code, out }))
    })
    t.log(r.out.trim().split('\n').slice(-2).join(' | '))
    t.is(r.code, 0, r.out.slice(-3000))
  }
)

// Kept difference (docs/http.md): node:http runs every request it answered to its 'end' and
// 'close' (`_dump`); createServer() leaves a body-less request nobody listened to as it is,
// and a reader that comes after the response still gets its 'end' (node's would not).
unless(createServer?.backend === 'io_uring' ? undefined : 'createServer is not on the io_uring engine here')(
  'boros/http createServer: a body-less request first read after its response still ends',
  async (t) => {
    let late
    const server = await createServer((req, res) => {
      res.end('answered')
      res.on('close', () => {
        late = new Promise((resolve) => {
          t.false(req.readableEnded, 'nobody listened: the stream was not run')
          req.on('end', () => resolve('end'))
          req.resume()
        })
      })
    })
    try {
      const r = await viaFetch(server.port, '/')
      t.is(r.body, 'answered')
      await new Promise((r) => setTimeout(r, 20))
      t.is(await late, 'end')
    } finally {
      await server.close()
    }
  }
)
