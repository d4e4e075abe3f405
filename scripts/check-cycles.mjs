#!/usr/bin/env node
// Import cycles in the façade (src-ts/) and in every crate of the workspace (crates/*/src/:
// the core boros, the binding boros-node, the executor boros-rt, rt-bench).
//
// Usage: node scripts/check-cycles.mjs [--print] [--values-only] [--only=ts|rust] [--root=DIR]
//   --print        also print the graph: each module, then each module it depends on, with the
//                  first place (file:line) that makes the edge
//   --values-only  TypeScript: leave out imports that vanish from the emitted JavaScript
//                  (`import type`, `export type ... from`, and imports whose every named
//                  specifier is `type X`); by default they count: a reader follows them too
//   --only=ts|rust check one of the two graphs
//   --root=DIR     the checkout to read (default: this script's checkout); the test uses it
//                  on small synthetic trees
// Prints, for each graph, its size and every elementary cycle as `a → b → a` (each cycle once,
// starting at its alphabetically first module), then the strongly connected groups. Exit
// status: 0 without cycles, 1 with any, 2 on a usage error.
//
// How it works
// - TypeScript: nodes are the .ts files under src-ts/ (paths relative to it, `fs/io.ts`).
//   Edges: static `import ... from '<rel>'`, side-effect `import '<rel>'`, `export ... from
//   '<rel>'`, and `import('<rel>')` (dynamic imports, and `typeof import()` in types), where
//   <rel> starts with `./` or `../`; `x.js` resolves to `x.ts`, a directory to its `index.ts`.
//   Package imports (`node:fs`, ...) are not edges. Comments are removed first; strings are
//   not parsed, so an import-like text inside a template string would count (none today).
// - Rust: one graph per crate (each crates/NAME/src/; a src/bin/ directory is one node); nodes are
//   the top-level modules of the crate: each `X.rs` or `X/`
//   (files under `X/` belong to X), plus `lib` (the crate root, lib.rs). Edges: every path
//   `crate::X` (in `use crate::X...`, `use crate::{X, Y::z}`, or an expression like
//   `crate::X::f()`), and `super::`, resolved against the file's module path and the inline
//   `mod name { ... }` blocks around it (so `use super::*` in `mod tests` is the file's own
//   module, not an edge). `crate::name` where name is not a module is an item of the crate
//   root: an edge to `lib`. In lib.rs, `X::` / `use X::` for a declared module `X` is an
//   edge lib → X; `mod X;` declarations alone are not edges. Comments (doc comments and
//   their intra-doc links included) and string/char literals are removed first.
//
// Limits
// - Textual, not a compiler: no macro expansion (a path built inside `macro_rules!` or by a
//   derive is invisible; `$crate::` is skipped), no `#[path]` attributes, no `#[cfg]` (test-
//   only uses count like the rest), and re-exports are edges to the re-exporting module, not
//   to where the item is defined. Rust granularity is top-level modules: a cycle between two
//   submodules of one directory module is not reported.
// - TypeScript: no path aliases (tsconfig `paths`), no `require()`, no `/// <reference>`.
// - "Every cycle" means every elementary cycle; their number can grow exponentially with the
//   size of a strongly connected group, so at most --max=N (default 10000) are listed.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opts = { print: false, valuesOnly: false, only: undefined, root: undefined, max: 10000 }
for (const a of args) {
  if (a === '--print') opts.print = true
  else if (a === '--values-only') opts.valuesOnly = true
  else if (a.startsWith('--only=')) opts.only = a.slice(7)
  else if (a.startsWith('--root=')) opts.root = path.resolve(a.slice(7))
  else if (a.startsWith('--max=')) opts.max = Number(a.slice(6))
  else if (a === '--help' || a === '-h') {
    process.stdout.write(
      `${readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(1, 15)
        .join('\n')}\n`
    )
    process.exit(0)
  } else {
    process.stderr.write(`check-cycles: unknown argument ${a} (see --help)\n`)
    process.exit(2)
  }
}
if (opts.only !== undefined && opts.only !== 'ts' && opts.only !== 'rust') {
  process.stderr.write(`check-cycles: --only takes ts or rust, not ${opts.only}\n`)
  process.exit(2)
}
const root = opts.root ?? fileURLToPath(new URL('..', import.meta.url))

function walk(dir, ext) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p, ext))
    else if (e.name.endsWith(ext) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out.sort()
}

/** Line number of offset `i` in `text`. */
function lineOf(text, i) {
  let n = 1
  for (let k = 0; k < i; k++) if (text.charCodeAt(k) === 10) n++
  return n
}

/**
 * `text` with comments (and, when `strings`, string and char literals) replaced by spaces,
 * newlines kept, so that offsets and line numbers stay those of the source.
 */
function blank(text, { strings, rust }) {
  const out = text.split('')
  const clear = (a, b) => {
    for (let k = a; k < b; k++) if (out[k] !== '\n') out[k] = ' '
  }
  let i = 0
  while (i < text.length) {
    const c = text[i]
    const d = text[i + 1]
    if (c === '/' && d === '/') {
      const end = text.indexOf('\n', i)
      const stop = end < 0 ? text.length : end
      clear(i, stop)
      i = stop
    } else if (c === '/' && d === '*') {
      // Rust block comments nest.
      let depth = 1
      let k = i + 2
      while (k < text.length && depth > 0) {
        if (rust && text[k] === '/' && text[k + 1] === '*') {
          depth++
          k += 2
        } else if (text[k] === '*' && text[k + 1] === '/') {
          depth--
          k += 2
        } else k++
      }
      if (!rust) {
        const end = text.indexOf('*/', i + 2)
        k = end < 0 ? text.length : end + 2
      }
      clear(i, k)
      i = k
    } else if (rust && c === 'r' && /^r#*"/.test(text.slice(i, i + 10)) && !/[A-Za-z0-9_]/.test(text[i - 1] ?? '')) {
      // Raw string r"..." / r#"..."#.
      const hashes = /^r(#*)"/.exec(text.slice(i, i + 10))[1]
      const close = `"${hashes}`
      const end = text.indexOf(close, i + 2 + hashes.length)
      const stop = end < 0 ? text.length : end + close.length
      if (strings) clear(i, stop)
      i = stop
    } else if (c === '"' || (!rust && (c === "'" || c === '`'))) {
      let k = i + 1
      while (k < text.length && text[k] !== c) k += text[k] === '\\' ? 2 : 1
      if (strings) clear(i + 1, k)
      i = k + 1
    } else if (rust && c === "'") {
      // A char literal ('a', '\n', '\u{..}'); a lifetime ('a) is left alone.
      const m = /^'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/.exec(text.slice(i, i + 12))
      if (m) {
        if (strings) clear(i + 1, i + m[0].length - 1)
        i += m[0].length
      } else i++
    } else i++
  }
  return out.join('')
}

/** A graph: `edges.get(a)` maps each module a depends on to the first place that says so. */
function newGraph(nodes) {
  const edges = new Map()
  for (const n of nodes) edges.set(n, new Map())
  return {
    nodes: [...nodes].sort(),
    edges,
    add(a, b, where) {
      if (a === b || !edges.has(b)) return
      if (!edges.get(a).has(b)) edges.get(a).set(b, where)
    }
  }
}

// ---------------------------------------------------------------- TypeScript

function tsGraph(srcDir) {
  const files = walk(srcDir, '.ts')
  const name = (f) => path.relative(srcDir, f).split(path.sep).join('/')
  const g = newGraph(files.map(name))
  const resolve = (from, spec) => {
    const base = path.resolve(path.dirname(from), spec)
    const candidates = [base.replace(/\.(m|c)?js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts'), base]
    return candidates.find((c) => c.endsWith('.ts') && existsSync(c) && statSync(c).isFile())
  }
  for (const f of files) {
    const src = readFileSync(f, 'utf8')
    const text = blank(src, { strings: false, rust: false })
    const found = []
    // import ... from '...' / export ... from '...' (one statement, possibly over lines).
    const fromRe = /\b(import|export)\s+((?:type\s+)?[^;'"`]*?)\s+from\s*(['"])([^'"]+)\3/g
    for (const m of text.matchAll(fromRe)) {
      const head = m[2].trim()
      let typeOnly = /^type\b/.test(head)
      if (!typeOnly) {
        // `import { type A, type B } from`: elided when every specifier is a type (and there
        // is no default or namespace import).
        const braces = /^\{([^}]*)\}$/.exec(head)
        if (braces) {
          const specs = braces[1]
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
          typeOnly = specs.length > 0 && specs.every((s) => /^type\s/.test(s))
        }
      }
      found.push({ spec: m[4], at: m.index, typeOnly })
    }
    // import '...' (side effect)
    for (const m of text.matchAll(/\bimport\s*(['"])([^'"]+)\1/g))
      found.push({ spec: m[2], at: m.index, typeOnly: false })
    // import('...'): a dynamic import, or `typeof import('...')` in a type.
    for (const m of text.matchAll(/\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g)) {
      const before = text.slice(Math.max(0, m.index - 20), m.index)
      found.push({ spec: m[2], at: m.index, typeOnly: /\btypeof\s*$/.test(before) || /[:<|&,]\s*$/.test(before) })
    }
    for (const { spec, at, typeOnly } of found) {
      if (!spec.startsWith('./') && !spec.startsWith('../')) continue
      if (opts.valuesOnly && typeOnly) continue
      const target = resolve(f, spec)
      if (target === undefined) continue
      g.add(name(f), name(target), `src-ts/${name(f)}:${lineOf(src, at)}`)
    }
  }
  return g
}

// ---------------------------------------------------------------- Rust

function rustGraph(srcDir, label) {
  const files = walk(srcDir, '.rs')
  const top = new Set()
  for (const e of readdirSync(srcDir, { withFileTypes: true })) {
    if (e.isDirectory()) top.add(e.name)
    else if (e.name.endsWith('.rs') && e.name !== 'lib.rs' && e.name !== 'main.rs') top.add(e.name.slice(0, -3))
  }
  const g = newGraph([...top, 'lib'])
  const rel = (f) => path.relative(srcDir, f).split(path.sep).join('/')
  /** The module path of a file: lib.rs [], x.rs ['x'], x/mod.rs ['x'], x/y.rs ['x', 'y']. */
  const modPath = (f) => {
    const parts = rel(f).replace(/\.rs$/, '').split('/')
    if (parts.length === 1 && (parts[0] === 'lib' || parts[0] === 'main')) return []
    if (parts.at(-1) === 'mod') parts.pop()
    return parts
  }
  const nodeOf = (segments) => (segments.length === 0 ? 'lib' : top.has(segments[0]) ? segments[0] : 'lib')
  for (const f of files) {
    const src = readFileSync(f, 'utf8')
    const text = blank(src, { strings: true, rust: true })
    const base = modPath(f)
    const from = nodeOf(base)
    // Inline `mod name {` blocks: [start, end, name], to resolve `super::` inside them.
    const inline = []
    for (const m of text.matchAll(/\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/g)) {
      let depth = 0
      let k = m.index + m[0].length - 1
      for (; k < text.length; k++) {
        if (text[k] === '{') depth++
        else if (text[k] === '}' && --depth === 0) break
      }
      inline.push([m.index, k, m[1]])
    }
    const scopeAt = (i) => [
      ...base,
      ...inline
        .filter(([a, b]) => a < i && i < b)
        .sort((x, y) => x[0] - y[0])
        .map((x) => x[2])
    ]
    const edge = (segments, at) => g.add(from, nodeOf(segments), `${label}/${rel(f)}:${lineOf(src, at)}`)
    /** The first segments named by `head::rest` where rest may be `{a, b::c}`. */
    const firsts = (i) => {
      const rest = text.slice(i)
      if (rest.startsWith('{')) {
        let depth = 0
        let k = 0
        for (; k < rest.length; k++) {
          if (rest[k] === '{') depth++
          else if (rest[k] === '}' && --depth === 0) break
        }
        const inner = rest.slice(1, k)
        // Top-level items of the group.
        const items = []
        let d = 0
        let cur = ''
        for (const ch of inner) {
          if (ch === '{') d++
          if (ch === '}') d--
          if (ch === ',' && d === 0) {
            items.push(cur)
            cur = ''
          } else cur += ch
        }
        items.push(cur)
        return items.map((s) => /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(s)?.[1]).filter((s) => s && s !== 'self')
      }
      const m = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(rest)
      return m ? [m[1]] : []
    }
    // crate::X...
    for (const m of text.matchAll(/(?<![$\w])crate\s*::\s*/g)) {
      for (const seg of firsts(m.index + m[0].length)) edge([seg], m.index)
    }
    // super::(super::)*X...
    for (const m of text.matchAll(/(?<![\w:])((?:super\s*::\s*)+)/g)) {
      const ups = m[1].match(/super/g).length
      const scope = scopeAt(m.index)
      if (ups > scope.length) continue
      const parent = scope.slice(0, scope.length - ups)
      const names = firsts(m.index + m[0].length)
      for (const seg of names.length > 0 ? names : ['*']) {
        // `super::*` or `super::item`: the parent module itself; `super::child::...` where the
        // parent is the crate root: that module.
        const target = parent.length === 0 && top.has(seg) ? [seg] : parent
        edge(target, m.index)
      }
    }
    // In the crate root: `X::` / `use X::` for a declared module X.
    if (base.length === 0) {
      for (const m of text.matchAll(/(?<![\w:$])([A-Za-z_][A-Za-z0-9_]*)\s*::/g)) {
        if (top.has(m[1])) edge([m[1]], m.index)
      }
    }
  }
  return g
}

// ---------------------------------------------------------------- cycles

/** Every elementary cycle, each once, starting at its smallest node (by name). */
function cycles(g, max) {
  const out = []
  const order = new Map(g.nodes.map((n, i) => [n, i]))
  let truncated = false
  for (const s of g.nodes) {
    const stack = [s]
    const on = new Set([s])
    const visit = (v) => {
      for (const w of [...g.edges.get(v).keys()].sort()) {
        if (out.length >= max) {
          truncated = true
          return
        }
        if (w === s) out.push([...stack, s])
        else if (order.get(w) > order.get(s) && !on.has(w)) {
          stack.push(w)
          on.add(w)
          visit(w)
          stack.pop()
          on.delete(w)
        }
      }
    }
    visit(s)
  }
  return { list: out, truncated }
}

/** Strongly connected groups of more than one node (Tarjan). */
function groups(g) {
  let index = 0
  const idx = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const out = []
  const strong = (v) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.edges.get(v).keys()) {
      if (!idx.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const comp = []
      let w
      do {
        w = stack.pop()
        on.delete(w)
        comp.push(w)
      } while (w !== v)
      if (comp.length > 1) out.push(comp.sort())
    }
  }
  for (const v of g.nodes) if (!idx.has(v)) strong(v)
  return out
}

function report(title, g) {
  const nEdges = [...g.edges.values()].reduce((s, m) => s + m.size, 0)
  const lines = [`${title}: ${g.nodes.length} modules, ${nEdges} edges`]
  if (opts.print) {
    lines.push('  graph (module -> what it depends on, first place that says so):')
    for (const n of g.nodes) {
      const deps = [...g.edges.get(n).entries()].sort(([a], [b]) => (a < b ? -1 : 1))
      lines.push(`    ${n}${deps.length === 0 ? ' -> (nothing)' : ''}`)
      for (const [d, where] of deps) lines.push(`      -> ${d}  (${where})`)
    }
  }
  const { list, truncated } = cycles(g, opts.max)
  if (list.length === 0) lines.push('  no cycles')
  else {
    lines.push(`  ${list.length}${truncated ? '+' : ''} cycle${list.length === 1 ? '' : 's'}:`)
    for (const c of list) {
      const hops = c.slice(0, -1).map((a, i) => `${a} → ${c[i + 1]} (${g.edges.get(a).get(c[i + 1])})`)
      lines.push(`  cycle: ${c.join(' → ')}`)
      if (opts.print) for (const h of hops) lines.push(`         ${h}`)
    }
    if (truncated) lines.push(`  (stopped after --max=${opts.max} cycles)`)
    for (const comp of groups(g)) lines.push(`  strongly connected: ${comp.join(', ')}`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  return list.length
}

let found = 0
if (opts.only !== 'rust') {
  const dir = path.join(root, 'src-ts')
  if (existsSync(dir)) found += report(`src-ts${opts.valuesOnly ? ' (values only)' : ''}`, tsGraph(dir))
  else process.stdout.write(`src-ts: not found under ${root}\n`)
}
if (opts.only !== 'ts') {
  const cratesDir = path.join(root, 'crates')
  const crates = existsSync(cratesDir)
    ? readdirSync(cratesDir)
        .filter((c) => existsSync(path.join(cratesDir, c, 'src')))
        .sort()
    : []
  if (crates.length === 0) process.stdout.write(`crates/*/src: not found under ${root}\n`)
  for (const c of crates) {
    const label = `crates/${c}/src`
    found += report(label, rustGraph(path.join(cratesDir, c, 'src'), label))
  }
}
process.exit(found > 0 ? 1 : 0)
