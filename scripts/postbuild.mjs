// After `tsc`: make the built CLI executable (tsc keeps its `#!/usr/bin/env node` line but not
// an exec bit). Node's chmod, so it works wherever npm does; a no-op on Windows.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin;
for (const rel of Object.values(bin)) {
  const file = join(root, rel);
  if (!readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')) {
    console.error(`postbuild: ${rel} does not start with "#!/usr/bin/env node"`);
    process.exit(1);
  }
  chmodSync(file, statSync(file).mode | 0o111);
}
