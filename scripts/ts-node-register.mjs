// `npm run dev`: ts-node's ESM loader, transpile-only. tsconfig.json's "ts-node": { "swc": true }
// makes ts-node transpile with @swc/core instead of TypeScript (about 5x less CPU at start-up).
// No type checking here: `npm run typecheck` (tsc --noEmit) does that.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('ts-node/esm/transpile-only', pathToFileURL('./'));
