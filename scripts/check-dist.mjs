// Fails the build if any emitted JavaScript under dist/ has a comment (other than tsc's
// `//# sourceMappingURL=` line) or a character outside ASCII. V8 keeps the source text of every
// module in the JavaScript heap for the life of the process (Function.prototype.toString), and a
// script with one non-ASCII character is kept at two bytes per character: both are start-up
// memory every boros process pays (docs/net.md, "Start-up memory"). `npm run build:ts` emits the
// .js with `--removeComments` (the .d.ts keep their TSDoc, from a separate declaration pass);
// write a non-ASCII character in a string as an escape (`'\u2014'`).
//
//   node scripts/check-dist.mjs [dir]       (npm run build:ts runs it; __test__/dist.test.mjs too)
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const SOURCE_MAP = /^\/\/# sourceMappingURL=\S+$/

/** Every .js, .cjs and .mjs file under `dir`. */
export function emittedFiles(dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...emittedFiles(full))
    else if (/\.(c|m)?js$/.test(entry.name)) out.push(full)
  }
  return out.sort()
}

/** The comments of one JavaScript text, each as `line: text` (tokens walked through the syntax tree). */
export function commentsOf(text, fileName = 'file.js') {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
  const found = new Map()
  const visit = (node) => {
    for (const r of ts.getLeadingCommentRanges(text, node.pos) ?? []) found.set(r.pos, r)
    for (const r of ts.getTrailingCommentRanges(text, node.end) ?? []) found.set(r.pos, r)
    for (const child of node.getChildren(sf)) visit(child)
  }
  visit(sf)
  return [...found.values()]
    .map((r) => ({ line: sf.getLineAndCharacterOfPosition(r.pos).line + 1, text: text.slice(r.pos, r.end) }))
    .filter((c) => !SOURCE_MAP.test(c.text))
    .sort((a, b) => a.line - b.line)
}

/** The problems of the emitted files under `dir`: `file:line: what`. */
export function checkDist(dir) {
  const problems = []
  for (const file of emittedFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8')
    const rel = path.relative(dir, file)
    const lines = text.split('\n')
    lines.forEach((line, i) => {
      const at = line.search(/[^\x00-\x7f]/)
      if (at >= 0) {
        const ch = line.codePointAt(at).toString(16).padStart(4, '0')
        problems.push(`${rel}:${i + 1}: non-ASCII character U+${ch} (write it as an escape in the source)`)
      }
    })
    for (const c of commentsOf(text, file))
      problems.push(`${rel}:${c.line}: comment ${JSON.stringify(c.text.slice(0, 60))}`)
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist')
  const problems = checkDist(dir)
  if (problems.length > 0) {
    console.error(`check-dist: ${problems.length} problem(s) in the emitted JavaScript under ${dir}:`)
    for (const p of problems.slice(0, 50)) console.error(`  ${p}`)
    process.exit(1)
  }
}
