// Runs ava with the TAP reporter and closes with the plain line `ava: N passed, N failed, N skipped`
// that CI reads (ava's own closing line is not in that form).
// Checks that CI runs outside ava (scripts/slurm-test.sh) are counted in that line too: when
// CTSIM_CI_CHECKS names a file, each of its lines is one TAP-style result
// (`ok - name`, `ok - name # SKIP reason`, `not ok - name`), printed and added to the counts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
const r = spawnSync('npx', ['ava', '--tap', ...process.argv.slice(2)], {
  encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
process.stdout.write(r.stdout ?? '');
let passed = 0, failed = 0, skipped = 0;
for (const line of (r.stdout ?? '').split('\n')) {
  if (/^ok \d+/.test(line)) { if (/# SKIP/.test(line)) skipped++; else passed++; }
  else if (/^not ok \d+/.test(line)) { if (/# TODO/.test(line)) skipped++; else failed++; }
}
const checks = process.env.CTSIM_CI_CHECKS;
let extraFailed = 0;
if (checks && existsSync(checks)) {
  for (const line of readFileSync(checks, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    console.log(`ci check: ${line}`);
    if (/^ok\b/.test(line)) { if (/# SKIP/.test(line)) skipped++; else passed++; }
    else { failed++; extraFailed++; }
  }
}
console.log(`ava: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status === 0 && extraFailed > 0 ? 1 : (r.status ?? 1));
