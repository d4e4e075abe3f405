#!/usr/bin/env node
// usage: node scripts/release-manifest.mjs [PACKAGE_JSON] [NPM_DIR]
//
// Adds to the main package's manifest (default ./package.json) one optionalDependency per
// platform package in NPM_DIR (default ./npm, made by `napi create-npm-dirs`), at the main
// package's version, the way `napi pre-publish` does. Run it on the copy that gets packed or
// published, not on the checkout's package.json: while the platform packages are not on the
// registry, optionalDependencies in the repo would make `npm ci` fail ("Missing: ... from lock
// file"). Prints the resulting map.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

const [pkgPath = 'package.json', npmDir = join(resolve(pkgPath, '..'), 'npm')] = process.argv.slice(2)
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'))
const opt = { ...(pkg.optionalDependencies ?? {}) }
if (!existsSync(npmDir)) {
  console.error(`release-manifest: no platform package dir ${npmDir} (run npx napi create-npm-dirs)`)
  process.exit(1)
}
for (const d of readdirSync(npmDir).sort()) {
  const p = join(npmDir, d, 'package.json')
  if (!existsSync(p)) continue
  const sub = JSON.parse(readFileSync(p, 'utf8'))
  if (sub.version !== pkg.version) {
    console.error(`release-manifest: ${sub.name} is at ${sub.version}, ${pkg.name} at ${pkg.version}`)
    process.exit(1)
  }
  opt[sub.name] = pkg.version
}
pkg.optionalDependencies = opt
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n')
console.log(JSON.stringify(opt))
