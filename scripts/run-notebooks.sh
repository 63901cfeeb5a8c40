#!/usr/bin/env bash
# Executes the notebooks in notebooks/ headlessly on the Deno kernel (npm package `deno`, kernelspec in
# notebooks/kernels/deno/) with Debian's jupyter-nbconvert, and writes them back with their outputs
# (commit them so they render when browsed). Fails on the first notebook with an error.
#
#   scripts/run-notebooks.sh                 # every notebook, in place
#   scripts/run-notebooks.sh size-your-table # some of them (names without .ipynb)
#   scripts/run-notebooks.sh --check         # execute into a temporary folder; leave notebooks/ untouched
#
# Needs: npm ci (builds dist/), scripts/setup-notebooks.sh (installs deno, the kernel, on demand),
# Debian packages jupyter-nbconvert jupyter-core jupyter-client.
# compare-policies reads the flagship comparison found in results/ctsim.duckdb; `ctsim start` makes it (or reuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

check=0
names=()
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) names+=("${a%.ipynb}") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for f in notebooks/*.ipynb; do names+=("$(basename "$f" .ipynb)"); done
fi

command -v jupyter >/dev/null || { echo "run-notebooks: jupyter not found (apt-get install jupyter-nbconvert jupyter-core jupyter-client)" >&2; exit 1; }
deno_bin="$root/notebooks/kernels/deno/node_modules/.bin"
[ -x "$deno_bin/deno" ] || { echo "run-notebooks: $deno_bin/deno not found: run scripts/setup-notebooks.sh (npm run setup:notebooks)" >&2; exit 1; }

for n in "${names[@]}"; do
  if [ "$n" = compare-policies ] || [ "$n" = size-your-table ]; then
    # they read the flagship comparison from the results store (results/ctsim.duckdb): make it when the store has none
    [ -f dist/sim/cli.js ] || npx tsc -p .
    if ! node dist/sim/cli.js query "SELECT 'found' FROM comparisons WHERE scenario = 'mixed' AND policies = 'kernel,l4-aware,l4-aware-evict-assured,soft-timeout,adaptive-timeout,keepalive,bigger-table,synproxy' LIMIT 1" --csv 2>/dev/null | grep -q '^found$'; then
      echo "run-notebooks: no flagship comparison in results/ctsim.duckdb: running it (ctsim start)"
      node dist/sim/cli.js start --quiet
    fi
    break
  fi
done

export JUPYTER_PATH="$root/notebooks"          # the Deno kernelspec: notebooks/kernels/deno/kernel.json
export PATH="$deno_bin:$root/node_modules/.bin:$PATH"   # `deno` for the kernelspec's argv
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1
export JUPYTER_PLATFORM_DIRS=1
export JUPYTER_RUNTIME_DIR="${TMPDIR:-/tmp}/ctsim-jupyter-runtime-$$"
mkdir -p "$JUPYTER_RUNTIME_DIR"
out=""
if [ $check -eq 1 ]; then out=$(mktemp -d); fi
trap 'rm -rf "$JUPYTER_RUNTIME_DIR" ${out:+"$out"}' EXIT

failed=0
for n in "${names[@]}"; do
  f="notebooks/$n.ipynb"
  [ -f "$f" ] || { echo "run-notebooks: $f not found" >&2; exit 2; }
  start=$(date +%s)
  args=(--to notebook --execute --ExecutePreprocessor.kernel_name=deno --ExecutePreprocessor.timeout=300
        --ExecutePreprocessor.record_timing=False)
  if [ $check -eq 1 ]; then args+=(--output-dir "$out"); else args+=(--inplace); fi
  if jupyter nbconvert "${args[@]}" "$f" >"$JUPYTER_RUNTIME_DIR/log" 2>&1; then
    echo "run-notebooks: $n ok ($(( $(date +%s) - start )) s)"
  else
    cat "$JUPYTER_RUNTIME_DIR/log" >&2
    echo "run-notebooks: $n FAILED" >&2
    failed=1
    break
  fi
done
exit $failed
