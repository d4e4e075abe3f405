#!/usr/bin/env bash
# Runs a real third-party package's own test suite (readdirp 5.1.1, which uses node:fs/promises)
# twice: on plain Node and under `--import boros/register`, and checks that both pass the same.
# Needs the npm registry (the package and its test devDependencies are installed into a cache
# folder once) and a built boros (`npm run build`).
#
#   scripts/third-party-tests.sh            # prints both summaries, exits 1 on a difference
#   BOROS_TP_CACHE=/some/dir scripts/...    # where to install (default: $TMPDIR/boros-third-party)
#   BOROS_BACKEND=fallback scripts/...      # the register run on the fallback backend
# Exit 0: same results; 1: different; 2: setup failed (no registry).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BOROS_TP_CACHE:-${TMPDIR:-/tmp}/boros-third-party}"
dir="$cache/readdirp-5.1.1"
if [ ! -f "$dir/.ready" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  # exit 2: the setup (npm registry) failed, not the comparison
  trap 'echo "third-party setup failed (npm registry?)" >&2; exit 2' ERR
  (
    cd "$dir"
    tgz="$(npm pack readdirp@5.1.1 --silent)"
    tar xzf "$tgz" --strip-components=1 && rm -f "$tgz"
    # the package.json of the tarball has no devDependencies: install the test's own pins
    npm install --no-save --no-audit --no-fund --ignore-scripts chai@4.3.4 chai-subset@1.6.0 @paulmillr/jsbt@0.6.1 >/dev/null
    mkdir -p test
  )
  touch "$dir/.ready"
  trap - ERR
  chmod o+rx "$cache" "$dir" # readable by uid 65534 (below)
fi
# readdirp's test file is not in this repository: the npm tarball does not ship it, and the
# copy at hand came through a tool whose material may not be committed. Point
# BOROS_READDIRP_TEST at readdirp@5.1.1's test/index.test.js (github.com/paulmillr/readdirp,
# commit 5dba369), or put it at third-party/readdirp/test/index.test.js (git-ignored).
src="${BOROS_READDIRP_TEST:-$here/third-party/readdirp/test/index.test.js}"
if [ ! -f "$src" ]; then
  echo "third-party readdirp@5.1.1: NOT RUN: its test file is not here (see third-party/readdirp/README.md)"
  exit 0
fi
cp "$src" "$dir/test/index.test.js"
# boros must resolve from the package folder for --import boros/register
mkdir -p "$dir/node_modules"
ln -sfn "$here" "$dir/node_modules/boros"

# As root, chmod 0 does not stop a read, and readdirp's "file with strict permission" test fails
# on plain Node too: run the suite as uid/gid 65534 when we are root and setpriv is there.
prefix=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
run() { # $1: label, rest: node flags
  local label="$1"; shift
  local out rc=0
  # JSBT_BAIL=0: run every test past a failure, so both runs report all of them
  out="$(cd "$dir" && JSBT_BAIL=0 "${prefix[@]}" node "$@" test/index.test.js 2>&1)" || rc=$?
  printf '%s\n' "$out" > "$cache/readdirp-$label.log"
  echo "== $label: exit $rc, $(grep -o '✓' <<<"$out" | wc -l) passed, $(grep -o '✕' <<<"$out" | wc -l) failed" >&2
  echo "$rc"
}
# the swap is really on in that folder: readdirp's `import { lstat } from 'node:fs/promises'` gets boros'
swapped="$(cd "$dir" && node --import boros/register --input-type=module -e \
  "import { lstat } from 'node:fs/promises'; import * as b from 'boros/fs'; console.log(lstat === b.lstat)")"
if [ "$swapped" != true ]; then echo "boros/register did not swap node:fs/promises in $dir"; exit 1; fi
plain_rc="$(run plain)"
boros_rc="$(run boros --import boros/register)"
# jsbt prints one line per test; strip timings and the per-run temp names to compare
norm() { sed -E 's/ in [0-9]+(\.[0-9]+)? ?(sec|s|ms)//g; s/[0-9]+(\.[0-9]+)? ?ms//g; s/readdirp-[0-9]+/readdirp-N/g' "$1"; }
echo "--- plain (exit $plain_rc), tail:"; tail -5 "$cache/readdirp-plain.log"
echo "--- boros/register (exit $boros_rc), tail:"; tail -5 "$cache/readdirp-boros.log"
if [ "$plain_rc" = "$boros_rc" ] && diff <(norm "$cache/readdirp-plain.log") <(norm "$cache/readdirp-boros.log") >/dev/null; then
  echo "third-party readdirp@5.1.1: same result with and without boros/register (plain exit $plain_rc, boros exit $boros_rc)"
  exit 0
fi
echo "third-party readdirp@5.1.1: DIFFERENT results"; diff <(norm "$cache/readdirp-plain.log") <(norm "$cache/readdirp-boros.log") || true
exit 1
