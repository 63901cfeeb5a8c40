#!/usr/bin/env bash
# CI helper for the pictures: the Debian packages the browser test and the notebooks need, and a
# headless execution of every notebook.
#
#   scripts/ci-notebooks-and-browser.sh deps       # apt-get install chromium, Jupyter (nbconvert), DejaVu fonts
#   scripts/ci-notebooks-and-browser.sh notebooks  # install the Deno kernel, execute notebooks/*.ipynb (after npm ci); fails on a cell error
#
# In .ci/run:   deps → npm ci → notebooks → npm test   (so ava's summary line stays the last line).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(chromium fonts-dejavu-core jupyter-nbconvert jupyter-core jupyter-client)

case "${1:-}" in
  deps)
    missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
      echo "ci: installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    ;;
  notebooks)
    # the Deno kernel is installed on demand (not by npm ci); --check: execute into a temporary
    # folder (the committed outputs are refreshed by hand)
    scripts/setup-notebooks.sh
    scripts/run-notebooks.sh --check
    ;;
  *)
    sed -n '2,9p' "$0"; exit 2 ;;
esac
