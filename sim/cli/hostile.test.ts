/**
 * Hostile input and faults (issue 17), each class from the CLI with its exit code and message:
 * names that would leave --out, file system errors, a full disk, parse and work limits, meaning
 * checks, signals and debris, and the user-policy sandbox (bad return values, table writes, a
 * hook that never returns).
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../cli.js';
import { setFileWriterForTests } from '../io/files.js';
import { writePcap } from '../capture/pcap-write.js';
import { LINKTYPE_RAW } from '../capture/linktype.js';
import { encodePacket } from '../capture/encode.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

async function quiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try { return { code: await main(argv), out, err }; } finally { process.stdout.write = ow; process.stderr.write = ew; }
}

const SMALL = 'duration: 5s\nkernel: { memory: 64MiB }\ntraffic:\n  - kind: udp-request-response\n    label: dns\n    rate: 50\n';
const dir = (): string => mkdtempSync(join(tmpdir(), 'ctsim-hostile-'));
/** Every file and folder under `d`, relative. */
function tree(d: string): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      out.push(join(rel, e.name));
      if (e.isDirectory()) walk(join(p, e.name), join(rel, e.name));
    }
  };
  walk(d, '');
  return out.sort();
}

test.serial('names that would leave --out: "../../x", "..", a NUL byte → exit 2 naming `name`, nothing written anywhere', async (t) => {
  const d = dir();
  const out = join(d, 'a', 'b', 'out');
  for (const [n, shown] of [['"../../x"', '"../../x"'], ['".."', '".."'], ['"a\\0b"', '"a\\u0000b"']] as const) {
    const f = join(d, 'esc.yaml');
    writeFileSync(f, `name: ${n}\n${SMALL}`);
    const r = await quiet(['run', f, '--out', out, '--no-charts', '--quiet']);
    t.is(r.code, 2, r.err);
    t.true(r.err.includes(`esc.yaml:1: name: expected a name of 1–100 letters`) && r.err.includes(shown), r.err);
  }
  t.deepEqual(tree(d), ['esc.yaml']);
});

test.serial('file system errors are exit 2 with the path and what to do, no stack trace', async (t) => {
  const d = dir();
  const f = join(d, 's.yaml');
  writeFileSync(f, SMALL);
  writeFileSync(join(d, 'afile'), 'x');
  mkdirSync(join(d, 'adir'));
  const cases: [string[], RegExp][] = [
    [['run', join(d, 'adir')], /adir: is a folder; expected a scenario file/],
    [['run', f, '--out', join(d, 'afile'), '--no-charts', '--quiet'], /afile: part of this path is a file, not a folder \(ENOTDIR in mkdir\); choose another --out/],
    [['run', f, '--out', join(d, 'afile', 'sub'), '--no-charts', '--quiet'], /afile: part of this path is a file, not a folder/],
    [['run', f, '--out', '/proc/ctsim-no-such', '--no-charts', '--quiet'], /\/proc\/ctsim-no-such: no such file or folder \(ENOENT in mkdir\)/],
    [['run', f, '--seed', '1e30', '--no-charts', '--quiet'], /seed: expected an integer in 0\.\.9007199254740991, got 1e\+30/],
  ];
  for (const [argv, re] of cases) {
    const r = await quiet(argv);
    t.is(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    t.regex(r.err, re);
    t.notRegex(r.err, /\n\s+at /, 'no stack trace');
  }
});

test.serial('--events under a file: exit 2 naming the folder', async (t) => {
  const d = dir();
  writeFileSync(join(d, 'afile'), 'x');
  const cap = join(d, 'c.pcap');
  writeFileSync(cap, writePcap([{ tsUs: 1e6, data: encodePacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 53, udp: {}, payloadLen: 4 }) }], LINKTYPE_RAW));
  const r = await quiet(['replay', cap, '--events', join(d, 'afile', 'ev.txt')]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /afile: is a file, not a folder; choose another path for ev\.txt/);
});

test.serial('a full disk (ENOSPC from the writer): exit 2, and neither the temporary folder nor the folders it created are left', async (t) => {
  const d = dir();
  const f = join(d, 's.yaml');
  writeFileSync(f, SMALL);
  let writes = 0;
  setFileWriterForTests((p) => {
    writes++;
    throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', syscall: 'write', path: p });
  });
  try {
    const r = await quiet(['run', f, '--out', join(d, 'res'), '--no-charts', '--quiet']);
    t.is(r.code, 2, r.err);
    t.regex(r.err, /(manifest|summary)\.json: no space left on the device \(ENOSPC in write\); free some space or choose another --out/);
  } finally {
    setFileWriterForTests();
  }
  t.true(writes > 0);
  t.deepEqual(tree(d), ['s.yaml'], 'results/<name>/ created for the run is removed again');
});

test.serial('a YAML alias bomb is refused (exit 2), quickly', async (t) => {
  const d = dir();
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const f = join(d, 'bomb.yaml');
  writeFileSync(f, lines.join('\n') + '\ntraffic: []\n');
  const r = await quiet(['validate', f]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /bomb\.yaml: the YAML expands too far .*aliases \(\*name\) may be used at most 100 times/);
});

test.serial('limits: samples per run (sample_interval: 1us) refused before running, raised by --max-samples', async (t) => {
  const d = dir();
  const f = join(d, 's.yaml');
  writeFileSync(f, `sample_interval: 1us\n${SMALL}`);
  const r = await quiet(['validate', f]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /s\.yaml:1: sample_interval: 1us over a duration of 5s asks for 5,000,001 samples per run; the limit is 1,000,000 .*--max-samples 5000001/);
  const ok = await quiet(['validate', f, '--max-samples', '5000001']);
  t.is(ok.code, 0, ok.err);
});

test.serial('limits: a sweep of a million cases is refused at once; --dry-run --max-cases counts it', async (t) => {
  const d = dir();
  writeFileSync(join(d, 's.yaml'), SMALL);
  const seeds = Array.from({ length: 100 }, (_, i) => i + 1).join(', ');
  writeFileSync(join(d, 'big.yaml'), `name: big\nscenarios: [s.yaml]\nruns: 1000\nparameters:\n  sysctl.nf_conntrack_max: [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]\nseeds: [${seeds}]\n`);
  const r = await quiet(['sweep', join(d, 'big.yaml'), '--dry-run', '--out', d]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /big\.yaml: the sweep expands to 1,000,000 cases; the limit is 100,000 .*--max-cases 1000000/);
  // counted, not expanded: 10 combinations validated, a million keys never built for the text
  const ok = await quiet(['sweep', join(d, 'big.yaml'), '--dry-run', '--max-cases', '1000000', '--out', d]);
  t.is(ok.code, 0, ok.err);
  t.regex(ok.out, /^sweep big: 1000000 of 1000000 cases would run → /);
  t.regex(ok.out, /\n {2}0: s\|\(scenario\)\|sysctl\.nf_conntrack_max=1000\|s1\|r0\n/);
  t.regex(ok.out, /\n {2}49: s\|\(scenario\)\|sysctl\.nf_conntrack_max=1000\|s1\|r49\n {2}… 999950 more/);
});

test.serial('limits: a capture whose time jumps by a year names the packet and offers --max-gap', async (t) => {
  const d = dir();
  const p = (ts: number) => ({ tsUs: ts, data: encodePacket({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1000, dport: 53, udp: {}, payloadLen: 4 }) });
  const cap = join(d, 'jump.pcap');
  writeFileSync(cap, writePcap([p(1e6), p(2e6), p(2e6 + 365 * 86400e6)], LINKTYPE_RAW));
  const r = await quiet(['replay', cap]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /jump\.pcap: packet 3: the timestamp jumps 31536000 s forward after packet 2; .*--max-gap 31536000/);
});

test.serial('limits: text fields are bounded (--max-text raises it)', async (t) => {
  const d = dir();
  const f = join(d, 's.yaml');
  writeFileSync(f, `description: "${'x'.repeat(10_001)}"\n${SMALL}`);
  const r = await quiet(['validate', f]);
  t.is(r.code, 2);
  t.regex(r.err, /description: text of 10001 characters; the limit is 10000 \(raise it with --max-text <chars>\)/);
  t.is((await quiet(['validate', f, '--max-text', '20000'])).code, 0);
});

test.serial('meaning: stop not after start, start after the end, duplicate labels — each at its line', async (t) => {
  const d = dir();
  const f = join(d, 'm.yaml');
  writeFileSync(f, [
    'duration: 10s',
    'traffic:',
    '  - kind: udp-request-response',
    '    label: a',
    '    rate: 10',
    '    start: 5s',
    '    stop: 2s',
    '  - kind: udp-request-response',
    '    label: a',
    '    rate: 10',
    '    start: 10s',
    '  - kind: udp-request-response',
    '    rate: 10',
    '    start: 3s',
    '    stop: 3s',
    '',
  ].join('\n'));
  const r = await quiet(['validate', f]);
  t.is(r.code, 2);
  t.regex(r.err, /m\.yaml:7: traffic\[0\]\.stop: 2s is before start \(5s\): the generator would never send/);
  t.regex(r.err, /m\.yaml:9: traffic\[1\]\.label: "a" is already the label of traffic\[0\]/);
  t.regex(r.err, /m\.yaml:11: traffic\[1\]\.start: 10s is not before the end of the run/);
  t.regex(r.err, /m\.yaml:15: traffic\[2\]\.stop: 3s is equal to start/);
});

test.serial('a reference to a missing policy module is reported at the scenario file, line and path', async (t) => {
  const d = dir();
  const f = join(d, 'p.yaml');
  writeFileSync(f, `${SMALL}policies:\n  - kernel\n  - name: ./nope.mjs\n`);
  const r = await quiet(['validate', f]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /p\.yaml:9: policies\[1\]\.name: "\.\/nope\.mjs": policy module .*nope\.mjs: file not found/);
});

test.serial('an internal error prints one line and exit 1; the stack only with --debug', async (t) => {
  // a user policy's create() result that is not a policy is bad input; a throw in a hook is exit 1
  const d = dir();
  const thrower = join(d, 'thrower.mjs');
  writeFileSync(thrower, 'export default { summary: "t", create: () => ({ name: "thrower", install: ({ hooks }) => { hooks.timeout = () => { throw new Error("boom"); }; } }) };\n');
  const f = join(d, 's.yaml');
  writeFileSync(f, SMALL);
  const r = await quiet(['run', f, '--policy', thrower, '--set', 'policies=["kernel","thrower"]', '--out', d, '--no-charts', '--quiet']);
  t.is(r.code, 1, r.err);
  t.regex(r.err, /^ctsim: policy thrower \(.*thrower\.mjs\) threw in timeout: boom\n$/);
  const dbg = await quiet(['run', f, '--policy', thrower, '--set', 'policies=["kernel","thrower"]', '--out', d, '--no-charts', '--quiet', '--debug']);
  t.is(dbg.code, 1);
  t.regex(dbg.err, /\n\s+at /);
});

// ---- signals and debris (child processes) ----

/**
 * Waits until the child process has used `ms` of CPU time (utime + stime in /proc/PID/stat), so a
 * signal arrives once the CLI is past start-up and its handlers are installed however loaded the
 * machine is (a fixed wall-clock wait was not enough at load averages of 15 on 2 cores). Falls
 * back to a wall-clock wait where /proc is missing; gives up waiting after 60 s of wall time.
 */
async function cpuAtLeast(pid: number, ms: number): Promise<void> {
  const ticksPerS = 100; // USER_HZ on Linux
  for (let waited = 0; waited < 60_000; waited += 50) {
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { await new Promise((r) => setTimeout(r, ms * 2)); return; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (((Number(f[11]) + Number(f[12])) * 1000) / ticksPerS >= ms) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const LONG = 'name: long\nduration: 3000s\nsample_interval: 1s\nkernel: { memory: 64MiB }\ntraffic:\n  - kind: udp-request-response\n    rate: 2000\n';

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${sig} during a run: exit ${code}, says what was lost, leaves no temporary folder`, async (t) => {
    const d = dir();
    const f = join(d, 'long.yaml');
    writeFileSync(f, LONG);
    const out = join(d, 'res');
    const child = spawn(process.execPath, [CLI, 'run', f, '--out', out, '--no-charts', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    await cpuAtLeast(child.pid!, 2000); // well inside the run (it takes minutes of CPU)
    child.kill(sig);
    const rc = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    t.is(rc, code, err);
    t.regex(err, new RegExp(`ctsim: stopped by ${sig}: run 0 of long \\(→ .*long/s1-r0-[0-9a-f]{10}\\) was not finished and nothing of it was written`));
    t.false(existsSync(out) && tree(out).some((p) => p.includes('.ctsim-tmp-')), 'no temporary folder left');
  });
}

for (const sandbox of [false, true]) test(`SIGINT during one long compare run${sandbox ? ' (a user policy: in the sandbox worker)' : ''}: exit 130 at once, says which comparison and run were lost, leaves no temporary folder`, async (t) => {
  const d = dir();
  const f = join(d, 'long.yaml');
  writeFileSync(f, LONG);
  const out = join(d, 'res');
  // one run of minutes: before, the signal was only handled when that run ended
  const user = sandbox ? ['--policy', join(process.cwd(), 'policies', 'examples', 'syn-sent-first.mjs')] : [];
  const child = spawn(process.execPath, [CLI, 'compare', f, ...user, '--policies', sandbox ? 'kernel,syn-sent-first' : 'kernel', '--runs', '1', '--out', out, '--no-charts', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  await cpuAtLeast(child.pid!, 2000); // well inside the run (minutes of CPU)
  const sent = Date.now();
  child.kill('SIGINT');
  const rc = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  t.is(rc, 130, err);
  t.true(Date.now() - sent < 20_000, 'stopped within a slice of the run, not at its end');
  t.regex(err, /ctsim: stopped by SIGINT: the comparison of long \(→ .*long\/compare-s1-[0-9a-f]{10}; 0 of [12] runs done, kernel run 1\/1 in progress\) was not finished and nothing of it was written/);
  t.false(existsSync(out) && tree(out).some((p) => p.includes('.ctsim-tmp-')), 'no temporary folder left');
});

test.serial('a temporary folder left by a dead process is removed by the next run in that folder', async (t) => {
  const d = dir();
  const f = join(d, 's.yaml');
  writeFileSync(f, `name: s\n${SMALL}`);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const stale = join(d, 'res', 's', `.ctsim-tmp-${dead}-s1-r0`);
  mkdirSync(stale, { recursive: true });
  writeFileSync(join(stale, 'summary.json'), '{}');
  const live = join(d, 'res', 's', `.ctsim-tmp-${process.pid}-other`);
  mkdirSync(live);
  const r = await quiet(['run', f, '--out', join(d, 'res'), '--no-charts', '--quiet']);
  t.is(r.code, 0, r.err);
  t.false(existsSync(stale), 'the dead process\'s folder is gone');
  t.true(existsSync(live), 'a live process\'s folder is kept');
});

test.serial('a reference to a missing capture is reported at the scenario file, line and path', async (t) => {
  const d = dir();
  const f = join(d, 'c.yaml');
  writeFileSync(f, 'duration: 5s\nkernel: { memory: 64MiB }\ntraffic:\n  - kind: capture\n    file: ./nope.pcap\n');
  const r = await quiet(['validate', f]);
  t.is(r.code, 2, r.err);
  t.regex(r.err, /c\.yaml:5: traffic\[0\]\.file: cannot read capture ".*nope\.pcap": no such file/);
});
