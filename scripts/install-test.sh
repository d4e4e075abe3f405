#!/usr/bin/env bash
# usage: scripts/install-test.sh [--no-build] [--keep]
#
# Does what a user does: packs boros and this machine's platform package (boros-linux-x64-gnu)
# as they would be published, installs both tarballs into an empty project outside the repo,
# with a clean environment whose PATH has no cargo/rustc, and checks that:
#   - an ES module importing 'boros/fs' and 'boros' does real I/O on io_uring,
#   - a CommonJS script using require() does the same,
#   - `npx tsc --noEmit` accepts a TypeScript consumer (typescript + @types/node from the registry),
#   - `npx boros doctor` runs from the installed bin and exits 0.
# Prints one PASS/FAIL line per check and exits 1 if any failed.
#   --no-build  use the current build (boros.*.node, dist/) instead of `npm run build`
#   --keep      keep the temp dir (its path is printed)
set -uo pipefail

build=1
keep=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-test: unknown argument $a" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/boros-install-test.XXXXXX")
if [ "$keep" = 1 ]; then echo "temp dir: $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

failures=0
passes=0
pass() { echo "PASS $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
die() { echo "FAIL $1"; echo "install-test: $passes passed, $((failures + 1)) failed"; exit 1; }

arch=$(node -p process.arch)
libc=gnu
if [ -e /usr/bin/ldd ] && grep -q musl /usr/bin/ldd; then libc=musl; fi
platform="linux-$arch-$libc"
cd "$repo" || exit 1
name=$(node -p 'require("./package.json").name')
version=$(node -p 'require("./package.json").version')
binary=$(node -p 'require("./package.json").napi.binaryName')

# --- build ---------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  if npm run build >"$tmp/build.log" 2>&1; then pass "build (npm run build)"; else
    tail -30 "$tmp/build.log"; die "build (npm run build)"; fi
fi
[ -f "$repo/$binary.$platform.node" ] || die "no $binary.$platform.node in the repo (build first)"
[ -d "$repo/npm/$platform" ] || die "no npm/$platform (run npx napi create-npm-dirs)"

# --- pack ----------------------------------------------------------------------------------
# The main package is packed as release.yml publishes it: optionalDependencies on the platform
# packages added to the packed copy (scripts/release-manifest.mjs), not to the checkout.
mkdir -p "$tmp/stage" "$tmp/tarballs"
if ! (npm pack --silent --pack-destination "$tmp/stage" >/dev/null 2>"$tmp/pack.log" &&
  tar -xzf "$tmp/stage/$name-$version.tgz" -C "$tmp/stage" &&
  node scripts/release-manifest.mjs "$tmp/stage/package/package.json" "$repo/npm" >/dev/null &&
  cd "$tmp/stage/package" && npm pack --silent --pack-destination "$tmp/tarballs" >/dev/null 2>>"$tmp/pack.log"); then
  cat "$tmp/pack.log"; die "npm pack $name"
fi
cd "$repo" || exit 1
cp -r "npm/$platform" "$tmp/stage/platform"
cp "$binary.$platform.node" "$tmp/stage/platform/"
if (cd "$tmp/stage/platform" && npm pack --silent --pack-destination "$tmp/tarballs" >/dev/null 2>>"$tmp/pack.log"); then :; else
  cat "$tmp/pack.log"; die "npm pack $name-$platform"
fi
main_tgz="$tmp/tarballs/$name-$version.tgz"
plat_tgz="$tmp/tarballs/$name-$platform-$version.tgz"
if [ -f "$main_tgz" ] && [ -f "$plat_tgz" ]; then
  pass "pack ($(basename "$main_tgz") $(du -k "$main_tgz" | cut -f1) KiB, $(basename "$plat_tgz") $(du -k "$plat_tgz" | cut -f1) KiB)"
else
  die "pack: tarballs missing"
fi
if tar -tzf "$main_tgz" | grep -q '\.node$'; then fail "main tarball carries no .node file"; else pass "main tarball carries no .node file"; fi

# --- a clean user environment ----------------------------------------------------------------
proj="$tmp/project"
home="$tmp/home"
mkdir -p "$proj" "$home"
nodedir=$(dirname "$(command -v node)")
cleanpath="/usr/bin:/bin"
case ":$cleanpath:" in *":$nodedir:"*) ;; *) cleanpath="$cleanpath:$nodedir" ;; esac
# Keep what reaching the registry needs (CA bundle, proxy), nothing of the developer's setup.
passenv=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy TMPDIR; do
  if [ -n "${!v:-}" ]; then passenv+=("$v=${!v}"); fi
done
cafile=$(npm config get cafile 2>/dev/null || true)
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ]; then
  echo "cafile=$cafile" >"$home/.npmrc"
fi
user() { (cd "$proj" && env -i PATH="$cleanpath" HOME="$home" "${passenv[@]}" "$@"); }

if user sh -c 'command -v cargo || command -v rustc' >/dev/null 2>&1; then
  fail "clean environment has no cargo/rustc on PATH ($cleanpath)"
else
  pass "clean environment has no cargo/rustc on PATH"
fi

# --- install ---------------------------------------------------------------------------------
user npm init -y >/dev/null 2>&1 || die "npm init -y"
if user npm install "$main_tgz" "$plat_tgz" --no-audit --no-fund >"$tmp/install.log" 2>&1; then
  pass "npm install $(basename "$main_tgz") $(basename "$plat_tgz")"
else
  cat "$tmp/install.log"; die "npm install of the tarballs"
fi
if [ -f "$proj/node_modules/$name-$platform/$binary.$platform.node" ]; then
  pass "platform package installed (node_modules/$name-$platform)"
else
  fail "platform package installed (node_modules/$name-$platform)"
fi

# --- ESM -------------------------------------------------------------------------------------
cat >"$proj/esm.mjs" <<'EOF'
import { writeFile, readFile, open, stat } from 'boros/fs'
import { runtime, spawn } from 'boros'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const resolved = require.resolve('boros')
assert.ok(resolved.startsWith(process.cwd() + '/node_modules/boros/'), `boros resolved to ${resolved}`)
const rt = runtime()
assert.equal(rt.backend, 'io_uring', `backend ${rt.backend}: ${rt.fallbackReason}`)
const addon = Object.keys(require.cache).find((k) => k.endsWith('.node'))
assert.ok(addon?.includes('/node_modules/boros-linux-'), `addon loaded from ${addon}`)

const path = join(process.cwd(), 'esm-data.bin')
const data = Buffer.alloc(200_000)
for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
await writeFile(path, data)
assert.deepEqual(await readFile(path), data)
assert.equal((await stat(path)).size, data.length)
await writeFile(path, 'héllo', 'utf8')
assert.equal(await readFile(path, 'utf8'), 'héllo')
const fh = await open(path, 'r')
try {
  assert.equal(await fh.readFile('utf8'), 'héllo')
} finally {
  await fh.close()
}
assert.equal(await spawn(async () => (await readFile(path, 'utf8')).length), 5)
assert.ok(runtime().ops.includes('read') || runtime().ops.length > 0)
console.log(`esm ok: backend=${rt.backend} kernel=${rt.kernel} addon=${addon.slice(process.cwd().length + 1)}`)
EOF
if out=$(user node esm.mjs 2>&1); then pass "ESM import 'boros/fs' + 'boros': $out"; else echo "$out"; fail "ESM import 'boros/fs' + 'boros'"; fi

# --- CommonJS --------------------------------------------------------------------------------
cat >"$proj/cjs.cjs" <<'EOF'
const { writeFile, readFile } = require('boros/fs')
const { runtime } = require('boros')
const assert = require('node:assert/strict')
const { join } = require('node:path')

;(async () => {
  assert.ok(require.resolve('boros').startsWith(process.cwd() + '/node_modules/boros/'))
  const rt = runtime()
  assert.equal(rt.backend, 'io_uring', `backend ${rt.backend}: ${rt.fallbackReason}`)
  const path = join(process.cwd(), 'cjs-data.txt')
  const text = 'boros '.repeat(10_000)
  await writeFile(path, text)
  assert.equal(await readFile(path, 'utf8'), text)
  assert.deepEqual(await readFile(path), Buffer.from(text))
  console.log(`cjs ok: backend=${rt.backend}`)
})().catch((e) => {
  console.error(e)
  process.exit(1)
})
EOF
if out=$(user node cjs.cjs 2>&1); then pass "CommonJS require('boros/fs') + require('boros'): $out"; else echo "$out"; fail "CommonJS require"; fi

# --- TypeScript consumer ----------------------------------------------------------------------
tsver=$(node -p 'require("./package.json").devDependencies.typescript')
typesver=$(node -p 'require("./package.json").devDependencies["@types/node"]')
if user npm install --save-dev "typescript@$tsver" "@types/node@$typesver" --no-audit --no-fund >"$tmp/install-ts.log" 2>&1; then :; else
  cat "$tmp/install-ts.log"; fail "npm install typescript @types/node"
fi
cat >"$proj/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "strict": true,
    "noEmit": true,
    "types": ["node"]
  },
  "files": ["consumer.ts"]
}
EOF
cat >"$proj/consumer.ts" <<'EOF'
import { readFile, open, type FileHandle } from 'boros/fs'
import { runtime, spawn, stats, Task, type RuntimeInfo, type Backend } from 'boros'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(): void {}

export async function main(): Promise<void> {
  const info: RuntimeInfo = runtime()
  assertType<Equal<typeof info.backend, Backend>>()
  assertType<Equal<Backend, 'io_uring' | 'fallback'>>()
  // @ts-expect-error: no such backend
  if (info.backend === 'epoll') return
  const data = await readFile('consumer.ts')
  assertType<Equal<typeof data, Buffer | string>>()
  const fh = await open('consumer.ts', 'r')
  assertType<Equal<typeof fh, FileHandle>>()
  await fh.close()
  const task = spawn(async (signal: AbortSignal): Promise<number> => (signal.aborted ? 0 : 1))
  assertType<Equal<typeof task, Task<number>>>()
  const n: number = await task
  const s = stats()
  const submitted: number = s.opsSubmitted + n
  // @ts-expect-error: readFile takes a path, not a number of bytes
  await readFile(42, 'utf8', 3)
  void submitted
}
EOF
# Twice: with skipLibCheck (what `tsc --init` writes), and without it, which also checks every
# .d.ts that boros ships.
sed 's/"noEmit": true,/"noEmit": true,\n    "skipLibCheck": true,/' "$proj/tsconfig.json" >"$proj/tsconfig.skiplib.json"
if out=$(user npx --no-install tsc --noEmit -p tsconfig.skiplib.json 2>&1); then
  pass "tsc --noEmit on a TypeScript consumer, skipLibCheck: true (typescript@$tsver, @types/node@$typesver)"
else
  echo "$out"; fail "tsc --noEmit on a TypeScript consumer, skipLibCheck: true"
fi
if out=$(user npx --no-install tsc --noEmit -p tsconfig.json 2>&1); then
  pass "tsc --noEmit on a TypeScript consumer, skipLibCheck: false (checks boros's .d.ts files too)"
else
  echo "$out"; fail "tsc --noEmit on a TypeScript consumer, skipLibCheck: false (checks boros's .d.ts files too)"
fi

# --- the bin ---------------------------------------------------------------------------------
if out=$(user npx --no-install boros doctor --json 2>&1) &&
  echo "$out" | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!r.ok || r.backend.name !== "io_uring") process.exit(1)'; then
  pass "npx boros doctor (exit 0, backend io_uring)"
else
  echo "$out" | head -40; fail "npx boros doctor"
fi

echo "install-test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
