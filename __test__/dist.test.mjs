// The build's output: emitted JavaScript without comments or non-ASCII characters (both stay in
// every boros process's JavaScript heap: docs/net.md, "Start-up memory"), the .d.ts with their
// TSDoc, and the direct loader of the addon (src-ts/native-loader.ts): it loads the -gnu .node
// itself, and a missing or broken binary is still reported by napi-rs's loader, every attempt
// in the cause chain.
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { checkDist, commentsOf } from '../scripts/check-dist.mjs'
import { decodeVlq, shiftMappings, stripIndent } from '../scripts/strip-indent.mjs'
import { lastLine, runChild } from './helpers/child.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The child picks its backend itself (a suite run under BOROS_BACKEND=fallback would force it). */
const AUTO_BACKEND = { BOROS_BACKEND: undefined }
const DIST = path.join(ROOT, 'dist')
const require = createRequire(import.meta.url)
const { directTarget } = require('../dist/native-loader.js')

test('the emitted JavaScript has no comment and no non-ASCII character', (t) => {
  t.deepEqual(checkDist(DIST), [])
  t.true(fs.existsSync(path.join(DIST, 'register.mjs')), 'the flag bundles are checked too')
})

test('the check finds a comment anywhere, a non-ASCII character, and allows the source-map line', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-dist-'))
  try {
    fs.writeFileSync(
      path.join(dir, 'a.js'),
      'const a = f(/* x */ 1)\nconst re = /\\/\\//g\nconst s = "// not a comment"\n'
    )
    fs.mkdirSync(path.join(dir, 'sub'))
    fs.writeFileSync(
      path.join(dir, 'sub', 'b.cjs'),
      "'use strict'\nconst s = 'caf\u00e9' // trailing\n//# sourceMappingURL=b.cjs.map\n"
    )
    fs.writeFileSync(path.join(dir, 'ok.mjs'), "export const s = 'caf\\u00e9'\n//# sourceMappingURL=ok.mjs.map\n")
    const problems = checkDist(dir)
    t.deepEqual(problems, [
      'a.js:1: comment "/* x */"',
      'sub/b.cjs:2: non-ASCII character U+00e9 (write it as an escape in the source)',
      'sub/b.cjs:2: comment "// trailing"'
    ])
    t.deepEqual(commentsOf('const a = `/* ${b} */` // c\n'), [{ line: 1, text: '// c' }])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('indentation is stripped outside literals only, and the source maps follow', (t) => {
  const src = 'function f() {\n    const a = `x\n    y`;\n    const b = "p\\\n    q";\n    return `${a}\n  z${b}`;\n}\n'
  const { text, removed } = stripIndent(src)
  t.is(text, 'function f() {\nconst a = `x\n    y`;\nconst b = "p\\\n    q";\nreturn `${a}\n  z${b}`;\n}\n')
  t.deepEqual(removed, [0, 4, 0, 4, 0, 4, 0, 0, 0])
  t.is(new Function(`${text}; return f()`)(), new Function(`${src}; return f()`)())
  // Line 2 starts at column 4 (AAIA: col 4, source 0, line 4, col 0); its second segment is relative.
  t.is(shiftMappings(';IAIA,EAAE;;', [0, 4]), ';AAIA,EAAE;;')
  // The built files: every mapped position of a module still maps to the same TypeScript position.
  const { SourceMap } = createRequire(import.meta.url)('node:module')
  const file = path.join(DIST, 'net', 'server.js')
  const map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')))
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const ts = fs.readFileSync(path.join(ROOT, 'src-ts', 'net', 'server.ts'), 'utf8').split('\n')
  let checked = 0
  for (let l = 0; l < lines.length; l++) {
    const m = /^(?:export |async )?(?:function\*? |class |const |let )([A-Za-z_$][\w$]*)/.exec(lines[l])
    if (m === null || /_\d+$|require\(/.test(lines[l])) continue // tsc's lines for imports
    const e = map.findEntry(l, lines[l].indexOf(m[1]))
    t.true(
      ts[e.originalLine]?.includes(m[1]),
      `${m[1]} at dist line ${l + 1} maps to ${JSON.stringify(ts[e.originalLine])}`
    )
    checked++
  }
  t.true(checked > 20, `${checked} declarations checked`)
  // And no segment starts past the end of its (stripped) line, which an unshifted map does.
  const raw = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')).mappings.split(';')
  raw.forEach((segments, l) => {
    let col = 0
    for (const seg of segments === '' ? [] : segments.split(',')) {
      col += decodeVlq(seg)[0]
      if (col > lines[l].length) t.fail(`dist line ${l + 1}: a segment at column ${col} of ${lines[l].length}`)
    }
  })
})

test('the declarations keep their TSDoc', (t) => {
  const dts = fs.readFileSync(path.join(DIST, 'net', 'index.d.ts'), 'utf8')
  t.regex(dts, /\/\*\*\n \* `boros\/net`: a `node:net`-shaped socket API/)
})

const direct = directTarget()

;(direct !== undefined && fs.existsSync(path.join(ROOT, `boros.${direct}.node`)) ? test : test.skip)(
  "the addon is loaded directly, without napi-rs's loader",
  async (t) => {
    const script = `const b = require(${JSON.stringify(path.join(DIST, 'binding.js'))})
const keys = Object.keys(require.cache)
console.log(JSON.stringify({ ring: b.usesRing(), addon: keys.filter((k) => k.endsWith('.node')), loader: keys.includes(${JSON.stringify(path.join(ROOT, 'index.js'))}) }))`
    const r = await runChild(['-e', script])
    t.is(r.code, 0, r.err)
    const got = JSON.parse(lastLine(r.out))
    t.deepEqual(got.addon, [path.join(ROOT, `boros.${direct}.node`)])
    t.false(got.loader)
    // napi-rs's variables keep napi-rs's loader in charge.
    const forced = await runChild(['-e', script], { env: { NAPI_RS_ENFORCE_VERSION_CHECK: '1' } })
    t.is(forced.code, 0, forced.err)
    t.true(JSON.parse(lastLine(forced.out)).loader)
  }
)

/** A copy of the package (dist/, index.js, package.json) with `binary` as its .node, if any. */
function packageCopy(t, binary) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-noaddon-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.cpSync(DIST, path.join(dir, 'dist'), { recursive: true })
  for (const f of ['index.js', 'package.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  if (binary !== undefined && direct !== undefined) fs.writeFileSync(path.join(dir, `boros.${direct}.node`), binary)
  return dir
}

const REPORT = `const { loadNative } = require('./dist/native-loader.js')
let error
try { loadNative() } catch (e) { error = e }
const causes = []
for (let c = error?.cause; c != null && causes.length < 20; c = c.cause) causes.push(String(c.message ?? c))
const { runtime } = require('./dist/index.js')
const rt = runtime()
console.log(JSON.stringify({ message: error?.message, causes, backend: rt.backend, reason: rt.fallbackReason }))`

test('a missing binary: napi-rs\'s "Cannot find native binding", the paths tried, the fallback backend', async (t) => {
  const dir = packageCopy(t)
  const r = await runChild(['-e', REPORT], { cwd: dir, env: AUTO_BACKEND })
  t.is(r.code, 0, r.err)
  const got = JSON.parse(lastLine(r.out))
  t.regex(got.message, /^Cannot find native binding\./)
  if (direct !== undefined) {
    t.true(
      got.causes.some((c) => c.includes(`boros.${direct}.node`)),
      got.causes.join('\n')
    )
    t.true(
      got.causes.some((c) => c.includes(`boros-${direct}`)),
      got.causes.join('\n')
    )
  }
  t.is(got.backend, 'fallback')
  t.regex(got.reason, /the boros native addon could not be loaded for linux-.*: Cannot find native binding/)
})

;(direct !== undefined ? test : test.skip)(
  'a broken binary: the error from loading it is in the cause chain',
  async (t) => {
    const dir = packageCopy(t, 'not an ELF file\n')
    const r = await runChild(['-e', REPORT], { cwd: dir, env: AUTO_BACKEND })
    t.is(r.code, 0, r.err)
    const got = JSON.parse(lastLine(r.out))
    t.regex(got.message, /^Cannot find native binding\./)
    t.true(
      got.causes.some((c) => c.includes(`boros.${direct}.node`) && /invalid ELF header|file too short/.test(c)),
      got.causes.join('\n')
    )
    t.is(got.backend, 'fallback')
  }
)
