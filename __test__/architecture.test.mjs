// Architecture: no import cycle in the façade (src-ts/) or in any crate (crates/*/src/), as
// scripts/check-cycles.mjs sees them (its header says how it
// builds the graphs and what it cannot see). The first test checks this checkout; the others
// check the checker on small synthetic trees, so that "no cycles" means something.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../scripts/check-cycles.mjs', import.meta.url))

function check(...args) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })
  return {
    code: r.status,
    out: r.stdout,
    err: r.stderr,
    cycles: r.stdout
      .split('\n')
      .filter((l) => /^\s*cycle: /.test(l))
      .map((l) => l.trim().slice(7))
  }
}

/** Writes `files` ({ relative path: contents }) under a fresh directory; returns it. */
function tree(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boros-cycles-'))
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), text)
  }
  return dir
}

test('no import cycle in src-ts/ nor in any crate (boros, boros-node, boros-rt, rt-bench)', (t) => {
  const r = check()
  t.is(r.err, '')
  t.regex(r.out, /^src-ts: \d+ modules/m)
  for (const c of ['boros', 'boros-node', 'boros-rt', 'rt-bench'])
    t.regex(r.out, new RegExp(`^crates/${c}/src: \\d+ modules`, 'm'))
  // The cycles themselves in the failure report: fix them, do not adjust this list.
  t.deepEqual(r.cycles, [], 'import cycles (node scripts/check-cycles.mjs --print shows where each edge comes from)')
  t.is(r.code, 0)
})

test('checker, TypeScript: static, re-export, dynamic and type imports; comments; --values-only', (t) => {
  const dir = tree({
    'src-ts/a.ts': "import { b } from './b.js'\nexport const a = b\n",
    'src-ts/b.ts': "import type { A } from './a.js'\nexport const b: A | 1 = 1\n",
    'src-ts/c.ts': "export * from './d/index.js'\n// import { e } from './e.js'\n",
    'src-ts/d/index.ts': "export async function f() { return import('../c.js') }\n",
    'src-ts/e.ts': "import { type A } from './a.js'\nimport * as fs from 'node:fs'\nexport const e = 1\n",
    'src-ts/x.ts': "import './e.js'\n"
  })
  try {
    const r = check(`--root=${dir}`, '--only=ts', '--print')
    t.is(r.code, 1, r.out)
    t.deepEqual(r.cycles, ['a.ts → b.ts → a.ts', 'c.ts → d/index.ts → c.ts'], r.out)
    t.regex(r.out, /e\.ts\n\s+-> a\.ts {2}\(src-ts\/e\.ts:1\)/, 'a type-only named import is an edge by default')
    t.regex(r.out, /x\.ts\n\s+-> e\.ts/, 'a side-effect import is an edge')
    t.notRegex(r.out, /c\.ts\n\s+-> d\/index\.ts\n\s+-> e\.ts/, 'a commented-out import is not')
    const v = check(`--root=${dir}`, '--only=ts', '--values-only', '--print')
    t.deepEqual(v.cycles, ['c.ts → d/index.ts → c.ts'], v.out)
    t.regex(v.out, /e\.ts -> \(nothing\)/, '--values-only drops `import { type A }`')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('checker, Rust: crate:: paths and groups, super:: in submodules and inline modules, comments and strings', (t) => {
  const dir = tree({
    'crates/boros-node/src/lib.rs': 'mod a;\nmod b;\nmod c;\nmod d;\nuse c::C;\npub fn root_item() {}\n',
    'crates/boros-node/src/a.rs': 'use crate::{js_like, b::x};\npub fn g() {}\n',
    'crates/boros-node/src/b.rs': 'pub fn x() { crate::a::g() }\n',
    'crates/boros-node/src/c.rs':
      '//! See [`crate::a`].\npub struct C;\nfn s() -> &\'static str { "crate::b::x" }\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n',
    'crates/boros-node/src/d/mod.rs': 'mod e;\n',
    'crates/boros-node/src/d/e.rs': 'use super::super::c::C;\nuse super::Thing;\nfn f() { crate::root_item() }\n'
  })
  try {
    const r = check(`--root=${dir}`, '--only=rust', '--print')
    t.is(r.code, 1, r.out)
    t.deepEqual(r.cycles, ['a → b → a'], r.out)
    t.regex(r.out, /\n {4}a\n\s+-> b .*\n\s+-> lib /, '`use crate::{item, b::x}`: edges to b and to the crate root')
    t.regex(r.out, /\n {4}c -> \(nothing\)/, 'doc links, strings and `use super::*` in `mod tests` are not edges')
    t.regex(
      r.out,
      /\n {4}d\n\s+-> c {2}\(crates\/boros-node\/src\/d\/e\.rs:1\)\n\s+-> lib/,
      'super::super:: and crate::item'
    )
    t.regex(r.out, /\n {4}lib\n\s+-> c /, 'the crate root uses its module c')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('checker: every crate is read, and a use of a crate-root re-export runs back up to lib', (t) => {
  const dir = tree({
    'crates/core/src/lib.rs': 'mod driver;\nmod setup;\npub use driver::Driver;\n',
    'crates/core/src/driver.rs': 'use crate::setup::Config;\npub struct Driver;\n',
    'crates/core/src/setup.rs': 'pub struct Config;\nimpl crate::Driver {}\n',
    'crates/bin/src/main.rs': 'mod a;\nfn main() { a::f() }\n',
    'crates/bin/src/a.rs': 'pub fn f() {}\n'
  })
  try {
    const r = check(`--root=${dir}`, '--only=rust')
    t.is(r.code, 1, r.out)
    t.regex(r.out, /^crates\/bin\/src: 2 modules, 1 edges\n {2}no cycles/m)
    t.deepEqual(r.cycles, ['driver → setup → lib → driver'])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('checker: an acyclic tree passes with exit status 0', (t) => {
  const dir = tree({
    'src-ts/a.ts': "import { b } from './b.js'\nexport const a = b\n",
    'src-ts/b.ts': 'export const b = 1\n',
    'crates/boros-node/src/lib.rs': 'mod a;\nmod b;\n',
    'crates/boros-node/src/a.rs': 'use crate::b;\n',
    'crates/boros-node/src/b.rs': 'pub fn f() {}\n'
  })
  try {
    const r = check(`--root=${dir}`)
    t.is(r.code, 0, r.out)
    t.deepEqual(r.cycles, [])
    t.is(r.out.match(/no cycles/g)?.length, 2, r.out)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

// One definition of every errno the façade compares or reports: src-ts/errno.ts (from
// os.constants). A number typed elsewhere (`systemError(-22, …)`, `const ENOENT = -2`) is how
// the copies this test replaced crept in.
test('no errno number typed outside src-ts/errno.ts', (t) => {
  const root = fileURLToPath(new URL('../src-ts/', import.meta.url))
  const typed = [
    /\b(?:systemError|withHostPort|netErrno|errnoError)\(\s*-\d+/,
    /#\w+Done\([^,]+,\s*-\d+/,
    /\bconst E[A-Z]{2,} = -?\d+/,
    /=== -(?:[2-9]|\d{2,})\b/
  ]
  const found = []
  for (const rel of fs.readdirSync(root, { recursive: true })) {
    if (!rel.endsWith('.ts') || rel === 'errno.ts' || rel === 'wire.ts') continue
    const lines = fs.readFileSync(path.join(root, rel), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (typed.some((re) => re.test(line))) found.push(`src-ts/${rel}:${i + 1}: ${line.trim()}`)
    })
  }
  t.deepEqual(found, [])
})

// A test that cannot run here is registered skipped with its reason (helpers/skip.mjs `unless`),
// never an early `return t.pass(...)` that ava counts as passed. The FIFO half of buffers.test's
// "readFile of a pipe" check hid a hang for a whole round behind such a pass.
test('no test returns early with a pass: a test that did not run says skipped', (t) => {
  const root = fileURLToPath(new URL('./', import.meta.url))
  const early = [/\breturn\s+t\.pass\(/, /\bt\.pass\(\s*['"`]skipped/i, /\bt\.pass\([^)]*\)\s*;?\s*\n\s*return\b/]
  const found = []
  for (const rel of fs.readdirSync(root, { recursive: true })) {
    if (!rel.endsWith('.mjs') || rel === 'architecture.test.mjs') continue
    const text = fs.readFileSync(path.join(root, rel), 'utf8')
    for (const re of early) {
      const m = re.exec(text)
      if (m) found.push(`__test__/${rel}:${text.slice(0, m.index).split('\n').length}: ${m[0].trim()}`)
    }
  }
  t.deepEqual(found, [])
})

// docs/architecture.md follows one read, one socket receive and one boros-rt read through the
// files: every file it names must exist, and every function its step tables name next to a
// file must be in that file, so that a rename or a split shows here rather than in a reader's
// search. (Relative names, `runtime/mod.rs`, match any file whose path ends so.)
test('docs/architecture.md: every file it names exists, every step names what is in its file', (t) => {
  const root = fileURLToPath(new URL('../', import.meta.url))
  const doc = fs.readFileSync(path.join(root, 'docs/architecture.md'), 'utf8')
  const files = []
  for (const top of ['crates', 'src-ts', 'scripts', '__test__', 'docs']) {
    for (const rel of fs.readdirSync(path.join(root, top), { recursive: true })) {
      if (rel.split(path.sep).includes('target')) continue
      const full = `${top}/${rel.split(path.sep).join('/')}`
      files.push(fs.statSync(path.join(root, full)).isDirectory() ? `${full}/` : full)
    }
  }
  const isPath = (s) => /^[\w./-]+(\.(rs|ts|mjs|md)|\/)$/.test(s) && /[a-z]/.test(s)
  const resolve = (name) => files.filter((f) => f === name || f.endsWith(`/${name}`))
  const missing = new Set()
  for (const m of doc.matchAll(/[\w./-]+\.(?:rs|ts|mjs|md)\b/g)) {
    if (resolve(m[0]).length === 0) missing.add(m[0])
  }
  for (const m of doc.matchAll(/`([\w./-]+\/)`/g)) {
    if (resolve(m[1]).length === 0) missing.add(m[1])
  }
  t.deepEqual([...missing], [], 'files docs/architecture.md names that are not in the tree')

  const stale = []
  for (const line of doc.split('\n')) {
    const cells = line.split('|')
    if (cells.length < 5 || !/^\s*\d+\s*$/.test(cells[1])) continue
    let where = []
    for (const [, tok] of cells[2].matchAll(/`([^`]+)`/g)) {
      if (isPath(tok)) {
        where = resolve(tok)
        continue
      }
      // `Type::method()` / `obj.method()`: the method; `#field`: the private name, `#` included.
      const name = tok
        .replace(/\(.*\)$/, '')
        .split(/::|\./)
        .pop()
      const re = new RegExp(`(^|[^\\w#])${name}\\b`)
      if (!where.some((f) => re.test(fs.readFileSync(path.join(root, f), 'utf8')))) {
        stale.push(`${tok} (in ${where.join(', ') || 'no file'})`)
      }
    }
  }
  t.deepEqual(stale, [], 'step-table names not found in the file the step names')
})

// No import running back up: docs/architecture.md gives the layers of the core and of the binding
// bottom up (`kernel`, `buf`, `slab` → `error`, ... → `driver` → ...); each module may use only
// modules of a lower layer, as the checker's graph shows them, and every module has a layer.
test('crates/boros and crates/boros-node: every import goes down the layers docs/architecture.md gives', (t) => {
  const doc = fs.readFileSync(fileURLToPath(new URL('../docs/architecture.md', import.meta.url)), 'utf8')
  const r = check('--only=rust', '--print')
  const crates = []
  for (const [, crate, line] of doc.matchAll(
    /The layering inside [^(]*\(`crates\/([\w-]+)\/src`\), bottom up[\s\S]*?\):([\s\S]*?)\.\n/g
  )) {
    crates.push(crate)
    const layer = new Map()
    line.split('→').forEach((group, i) => {
      for (const [, m] of group.matchAll(/`(\w+)`/g)) layer.set(m, i)
    })
    const graph = r.out.split(`crates/${crate}/src: `)[1].split(/^crates\//m)[0]
    const up = []
    let from
    for (const l of graph.split('\n')) {
      const node = /^ {4}(\w+)(?: -> \(nothing\))?$/.exec(l)
      if (node) {
        from = node[1]
        if (from !== 'lib' && !layer.has(from)) up.push(`${from}: no layer`)
        continue
      }
      const edge = /^\s+-> (\w+) {2}\((.+)\)$/.exec(l)
      if (!edge || from === 'lib') continue
      if (!(layer.get(edge[1]) < layer.get(from))) up.push(`${from} -> ${edge[1]} (${edge[2]})`)
    }
    t.true(layer.size > 10, `${crate}: layers read: ${[...layer.keys()]}`)
    t.deepEqual(up, [], `${crate}: imports that do not go down a layer`)
  }
  t.deepEqual(crates, ['boros', 'boros-node'])
})
