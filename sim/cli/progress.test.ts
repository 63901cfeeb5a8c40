import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, linkTypeOf } from '../capture/encode.js';
import { writePcap } from '../capture/pcap-write.js';
import { formatSeconds, makeCaseProgress, progressMode } from './progress.js';
import { PROGRESS_MIN_BYTES } from './replay-command.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

const SCENARIO = `
name: prog
duration: 20s
sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 }
traffic:
  - { kind: tcp-clients, label: web, rate: 20 }
`;

/** Runs the built CLI as a child process with stdout and stderr piped (not a terminal). */
function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function scenario(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-progress-'));
  const file = join(dir, 'prog.yaml');
  writeFileSync(file, SCENARIO);
  return { dir, file };
}

test('progressMode: a bar on a terminal, lines in a pipe, nothing with --quiet; --json keeps the terminal clean', (t) => {
  t.is(progressMode({}, true), 'bar');
  t.is(progressMode({}, false), 'lines');
  t.is(progressMode({ quiet: true }, false), 'off');
  t.is(progressMode({ quiet: true }, true), 'off');
  t.is(progressMode({ json: true }, true), 'off');
  t.is(progressMode({ json: true }, false), 'lines');
});

test('formatSeconds picks s, min or h', (t) => {
  t.is(formatSeconds(4.25), '4.3 s');
  t.is(formatSeconds(42), '42 s');
  t.is(formatSeconds(600), '10.0 min');
  t.is(formatSeconds(2 * 3600), '2.00 h');
});

test('lines mode: one line per finished case with cases done/total, simulated time and an ETA from the share done', (t) => {
  let out = '';
  let now = 0;
  const p = makeCaseProgress('compare x', 4, 'lines', { write: (s: string) => { out += s; } }, () => now);
  p.tick(5e6, 10e6); // ticks print nothing in a pipe
  t.is(out, '');
  now = 2000;
  p.done('kernel run 1/2', 10e6);
  now = 4000;
  p.done('kernel run 2/2', 10e6);
  // 2 of 4 cases in 4 s: 4 s left
  t.deepEqual(out.split('\n'), [
    'compare x: 1/4 kernel run 1/2 | 10 s simulated | 2.0 s wall | ETA 6.0 s',
    'compare x: 2/4 kernel run 2/2 | 20 s simulated | 4.0 s wall | ETA 4.0 s',
    '',
  ]);
  out = '';
  p.done('a'); p.done('b');
  t.regex(out.trimEnd().split('\n').at(-1)!, /^compare x: 4\/4 b \| 20 s simulated \| 4\.0 s wall \| done$/);
});

test('off mode writes nothing', (t) => {
  let out = '';
  const p = makeCaseProgress('x', 2, 'off', { write: (s: string) => { out += s; } });
  p.tick(1, 2); p.done('a', 1); p.stop();
  t.is(out, '');
});

test('compare in a pipe: one stderr line per finished (policy, run), none with --quiet', (t) => {
  const { dir, file } = scenario();
  const r = cli(['compare', file, '--policies', 'kernel,l4-aware', '--runs', '2', '--no-charts', '--out', dir]);
  t.is(r.code, 0, r.err);
  const lines = r.err.trimEnd().split('\n');
  t.is(lines.length, 4, r.err);
  t.regex(lines[0]!, /^compare prog: 1\/4 kernel run 1\/2 \| 20 s simulated \| [\d.]+ (s|min) wall \| ETA /);
  t.regex(lines[2]!, /^compare prog: 3\/4 l4-aware run 1\/2 \| 60 s simulated \| /);
  t.regex(lines[3]!, /^compare prog: 4\/4 l4-aware run 2\/2 \| 80 s simulated \| .* \| done$/);
  t.regex(r.out, /prog: 2 policies × 2 run\(s\)/);
  const q = cli(['compare', file, '--policies', 'kernel,l4-aware', '--runs', '2', '--no-charts', '--out', dir, '--quiet']);
  t.is(q.code, 0, q.err);
  t.is(q.err, '');
});

test('sweep in a pipe: one stderr line per finished case naming it; none with --quiet', (t) => {
  const { dir } = scenario();
  const sw = join(dir, 'sw.yaml');
  writeFileSync(sw, 'name: sw\nscenarios: [prog.yaml]\npolicies: [kernel, l4-aware]\nseeds: [1, 2]\n');
  const r = cli(['sweep', sw, '--workers', '1', '--out', dir]);
  t.is(r.code, 0, r.err);
  const lines = r.err.trimEnd().split('\n');
  t.is(lines.length, 4, r.err);
  for (const [i, l] of lines.entries()) t.regex(l, new RegExp(`^sweep: ${i + 1}/4 \\S.* \\| [\\d.]+ (s|min) wall \\| (ETA|done)`));
  t.is(cli(['sweep', sw, '--workers', '1', '--out', dir, '--quiet']).err, '');
});

test('replay of a large capture in a pipe: one stderr line when done (bytes read, no simulated time); small captures and --quiet: none', (t) => {
  const { dir } = scenario();
  const frame = encodeFrame({ src: '10.0.0.1', dst: '192.0.2.53', udp: {}, sport: 40000, dport: 53, payloadLen: 1400 });
  const n = Math.ceil(PROGRESS_MIN_BYTES / (frame.length + 16));
  const big = join(dir, 'big.pcap');
  writeFileSync(big, writePcap(Array.from({ length: n }, (_, i) => ({ tsUs: 1e12 + i * 100, data: frame })), linkTypeOf('ethernet')));
  const r = cli(['replay', big]);
  t.is(r.code, 0, r.err);
  t.regex(r.err, new RegExp(`^replay big\\.pcap: 1/1 ${n.toLocaleString('en-US')} frames \\| [\\d.]+ (s|min) wall \\| done\\n$`));
  t.is(cli(['replay', big, '--quiet']).err, '');
  const small = join(dir, 'small.pcap');
  writeFileSync(small, writePcap([{ tsUs: 1e12, data: frame }], linkTypeOf('ethernet')));
  t.is(cli(['replay', small]).err, '');
});
