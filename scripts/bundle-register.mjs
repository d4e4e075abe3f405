// Writes the flag's two entries, dist/register.mjs (`--import boros/register`) and
// dist/register.cjs (`--require boros/register`), after `tsc`: each is dist/register.js with its
// two small imports (node-facts.js, fs/ring-names.js) inlined, then `install()`. One file instead
// of four modules, and for `--import` no CommonJS loader at all: entering Node's CommonJS loader
// from its ES module loader cost ~1 ms of the flag's start-up on Node 20
// (docs/files-internals.md, "Start-up"). The modules' text is tsc's, unchanged: each runs in a
// function with CommonJS' parameters; `require` serves the inlined modules, Node's built-in ones
// (`process.getBuiltinModule`, which does not load the CommonJS loader; Node 22.0-22.2, which
// the engines range takes, have none: a `require` stands in there) and, only when boros itself
// is loaded (the first swapped call), the rest through a real `require` made then.
// register.ts keeps its whole state on `globalThis`, so dist/register.js loaded besides one of
// these (by `boros doctor`, or `require('boros/dist/register.js')`) shares it.
//
// The bundles carry no comments (scripts/check-dist.mjs fails the build on any): they are
// generated from dist/node-facts.js, dist/fs/ring-names.js and dist/register.js; realRequire()
// is a real require made on first use (when boros itself is loaded).
//
//   node scripts/bundle-register.mjs        (npm run build:ts runs it)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist')
/** The modules inlined, as register.js asks for them (relative to dist/). */
const INLINED = ['./node-facts.js', './fs/ring-names.js', './register.js']

function moduleText(rel) {
  const text = fs.readFileSync(path.join(DIST, rel), 'utf8')
  // Every module but register.js is inlined with no require of its own (all are relative to dist/).
  if (rel !== './register.js' && /\brequire\(/.test(text)) throw new Error(`bundle-register: ${rel} requires a module`)
  // Their source maps describe dist/<rel>, not this file.
  return text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n')
}

function bundle(kind) {
  const factories = INLINED.map(
    (rel) => `${JSON.stringify(rel)}: function (exports, require, module, __filename, __dirname) {\n${moduleText(rel)}}`
  ).join(',\n')
  const dirname = kind === 'esm' ? 'import.meta.dirname' : '__dirname'
  return `${kind === 'esm' ? '' : "'use strict'\n"}const bundleDir = ${dirname}
const getBuiltin = process.getBuiltinModule ?? ${kind === 'esm' ? "(await import('node:module')).createRequire(import.meta.url)" : 'require'}
const bundleFactories = {
${factories}
}
const bundleCache = Object.create(null)
let bundleRequire
function realRequire() {
  bundleRequire ??= getBuiltin('node:module').createRequire(bundleDir + '/register.js')
  return bundleRequire
}
function bundleLoad(id) {
  if (id in bundleCache) return bundleCache[id].exports
  const factory = bundleFactories[id]
  if (factory === undefined) return id.startsWith('node:') ? getBuiltin(id) : realRequire()(id)
  const module = { exports: {} }
  bundleCache[id] = module
  const req = (spec) => bundleLoad(spec)
  Object.defineProperty(req, 'cache', { get: () => realRequire().cache })
  factory.call(module.exports, module.exports, req, module, bundleDir + id.slice(1), bundleDir)
  return module.exports
}
bundleLoad('./register.js').install()
`
}

fs.writeFileSync(path.join(DIST, 'register.mjs'), bundle('esm'))
fs.writeFileSync(path.join(DIST, 'register.cjs'), bundle('cjs'))
