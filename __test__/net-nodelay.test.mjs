// TCP_NODELAY on accepted sockets (docs/net.md, "An accept burst, measured"): a boros/net server
// listening with `noDelay` sets it once on its listening socket (accepted sockets inherit it on
// Linux) instead of once per accept; what each accepted socket ends up with must stay node:net's,
// including a `noDelay` changed after listen() (node:net reads it at each connection). Measured
// by count in a bounded window, as __test__/http-nodelay.test.mjs: with TCP_NODELAY every
// answer's second write leaves at once (500 round trips in well under a second here); without it
// each waits for the client's delayed ACK (~40 ms), and 500 would need 20 s, 4x the window.
// Each case runs in its own process (fixtures/net-nodelay.mjs), on node:net and on boros/net.
import test from 'ava'
import { fileURLToPath } from 'node:url'
import { backend } from 'boros/net'
import { lastLine, runChild } from './helpers/child.mjs'
import { unless } from './helpers/skip.mjs'

const fixture = fileURLToPath(new URL('./fixtures/net-nodelay.mjs', import.meta.url))
const WANT = 500

async function run(spec) {
  const { code, out, err } = await runChild([fixture, JSON.stringify({ want: WANT, windowMs: 5000, ...spec })])
  const line = lastLine(out)
  if (code !== 0 || !line) throw new Error(`exit ${code}: ${err.slice(-2000)}`)
  return JSON.parse(line)
}

const ring = unless(backend === 'io_uring' ? undefined : `boros/net is on the ${backend} backend here`)

const cases = [
  ['noDelay: true', { noDelay: true, later: null }, true],
  ['noDelay: false', { noDelay: false, later: null }, false],
  ['noDelay: true, turned off after listen()', { noDelay: true, later: false }, false],
  ['noDelay: false, turned on after listen()', { noDelay: false, later: true }, true]
]

for (const [name, spec, fast] of cases) {
  for (const impl of ['node', 'boros']) {
    const t = impl === 'boros' ? ring : test
    t(
      `${impl === 'boros' ? 'io_uring' : 'node:net'}: ${name}: accepted sockets ${fast ? 'have' : 'lack'} TCP_NODELAY`,
      async (t) => {
        const r = await run({ ...spec, impl })
        if (impl === 'boros') t.is(r.backend, 'io_uring')
        if (fast) t.is(r.done, WANT, `${r.done} round trips in ${r.ms} ms`)
        else t.true(r.done < WANT / 2, `${r.done} round trips in ${r.ms} ms (Nagle: each waits for the delayed ACK)`)
      }
    )
  }
}
