// Removes the indentation tsc puts in the emitted JavaScript under dist/ (4 spaces a level) and
// shifts the source maps to match. A module's source text stays in the JavaScript heap for the
// life of the process, and is allocated young: an ESM import of boros + boros/net left 401 KB
// of young objects alive with the indentation, 373 KB without (Node 24; docs/net.md,
// "Start-up memory"). Lines inside a template literal or a string (a backslash-newline) keep
// their text; nothing else in JavaScript depends on leading white space (comments are gone:
// `--removeComments`, checked by scripts/check-dist.mjs).
//
//   node scripts/strip-indent.mjs [dir]      (npm run build:ts runs it, after tsc)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { emittedFiles } from './check-dist.mjs'

const KEEP = new Set([
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateHead,
  ts.SyntaxKind.TemplateMiddle,
  ts.SyntaxKind.TemplateTail,
  ts.SyntaxKind.StringLiteral
])

/** [start, end) of every literal whose text may span lines. */
function literalRanges(text, fileName) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
  const ranges = []
  const visit = (node) => {
    if (KEEP.has(node.kind)) ranges.push([node.getStart(sf), node.end])
    else for (const child of node.getChildren(sf)) visit(child)
  }
  visit(sf)
  return ranges
}

/** `text` without leading white space on lines outside literals, and each line's removed count. */
export function stripIndent(text, fileName = 'file.js') {
  const ranges = literalRanges(text, fileName).filter(([s, e]) => text.lastIndexOf('\n', e - 1) >= s)
  const lines = text.split('\n')
  const removed = []
  let pos = 0
  let r = 0
  const out = lines.map((line) => {
    const start = pos
    pos += line.length + 1
    while (r < ranges.length && ranges[r][1] <= start) r++
    const inside = r < ranges.length && ranges[r][0] < start
    const n = inside ? 0 : line.length - line.trimStart().length
    removed.push(n)
    return n === 0 ? line : line.slice(n)
  })
  return { text: out.join('\n'), removed }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** The first base64 VLQ of `s`: [value, characters used]. */
export function decodeVlq(s) {
  let value = 0
  let shift = 0
  for (let i = 0; i < s.length; i++) {
    const digit = B64.indexOf(s[i])
    value += (digit & 31) << shift
    shift += 5
    if ((digit & 32) === 0) return [value & 1 ? -(value >>> 1) : value >>> 1, i + 1]
  }
  throw new Error(`strip-indent: bad VLQ in ${JSON.stringify(s.slice(0, 20))}`)
}

function encodeVlq(n) {
  let v = n < 0 ? (-n << 1) | 1 : n << 1
  let out = ''
  do {
    let digit = v & 31
    v >>>= 5
    if (v > 0) digit |= 32
    out += B64[digit]
  } while (v > 0)
  return out
}

/**
 * A source map's `mappings` with each generated line's columns moved left by `removed[line]`:
 * the first segment of a line holds its column absolutely, the others relative to it.
 */
export function shiftMappings(mappings, removed) {
  return mappings
    .split(';')
    .map((line, i) => {
      const n = removed[i] ?? 0
      if (n === 0 || line === '') return line
      const [col, used] = decodeVlq(line)
      return encodeVlq(Math.max(0, col - n)) + line.slice(used)
    })
    .join(';')
}

export function stripDir(dir) {
  for (const file of emittedFiles(dir)) {
    const { text, removed } = stripIndent(fs.readFileSync(file, 'utf8'), file)
    fs.writeFileSync(file, text)
    const mapFile = `${file}.map`
    if (fs.existsSync(mapFile)) {
      const map = JSON.parse(fs.readFileSync(mapFile, 'utf8'))
      map.mappings = shiftMappings(map.mappings, removed)
      fs.writeFileSync(mapFile, JSON.stringify(map))
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  stripDir(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist'))
}
