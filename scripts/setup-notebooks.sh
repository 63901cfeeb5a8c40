#!/usr/bin/env bash
# Installs the notebooks' Jupyter kernel on demand: deno, pinned in notebooks/kernels/deno/package.json
# and its package-lock.json, into notebooks/kernels/deno/node_modules/ (about 90 MB). The project's own
# `npm ci` does not install it: only notebook work needs it. CI runs this before executing the notebooks.
#
#   scripts/setup-notebooks.sh      # or: npm run setup:notebooks
#
# Then: scripts/run-notebooks.sh (headless), or Jupyter as notebooks/README.md shows.
set -euo pipefail
cd "$(dirname "$0")/.."
k=notebooks/kernels/deno
want=$(node -p "require('./$k/package.json').dependencies.deno")
if [ -x "$k/node_modules/.bin/deno" ] && "$k/node_modules/.bin/deno" --version 2>/dev/null | head -1 | grep -qx "deno $want .*"; then
  echo "setup-notebooks: deno $want already installed in $k/node_modules"
  exit 0
fi
npm ci --prefix "$k" --no-audit --no-fund
DENO_NO_UPDATE_CHECK=1 "$k/node_modules/.bin/deno" --version | head -1
