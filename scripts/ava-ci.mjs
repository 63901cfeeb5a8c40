// Runs ava with the TAP reporter and closes with the plain line `ava: N passed, N failed, N skipped`
// that CI reads (ava's own closing line is not in that form).
import { spawnSync } from 'node:child_process';
const r = spawnSync('npx', ['ava', '--tap', ...process.argv.slice(2)], {
  encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
process.stdout.write(r.stdout ?? '');
let passed = 0, failed = 0, skipped = 0;
for (const line of (r.stdout ?? '').split('\n')) {
  if (/^ok \d+/.test(line)) { if (/# SKIP/.test(line)) skipped++; else passed++; }
  else if (/^not ok \d+/.test(line)) { if (/# TODO/.test(line)) skipped++; else failed++; }
}
console.log(`ava: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status ?? 1);
