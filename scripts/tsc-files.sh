#!/usr/bin/env bash
# Compile just the named .ts files (and what they import) into dist/, with the project's options.
# For working on a few modules while others are mid-edit; `npm run build` compiles everything.
set -e
cd "$(dirname "$0")/.."
exec npx tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --strict \
  --noFallthroughCasesInSwitch --noUnusedLocals --noImplicitOverride --esModuleInterop \
  --skipLibCheck --sourceMap --rootDir . --outDir dist --types node "$@"
