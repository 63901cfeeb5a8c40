import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';

/** The one result folder under `parent` whose name starts with `prefix` (names end in a hash). */
function one(parent: string, prefix: string): string {
  const m = readdirSync(parent).filter((n) => n.startsWith(prefix));
  if (m.length !== 1) throw new Error(`expected one ${prefix}* folder in ${parent}, found ${m.join(', ') || 'none'}`);
  return join(parent, m[0]!);
}

const SCENARIO = `
name: tiny
duration: 20s
kernel: { memory: 512MiB }
sysctl: { nf_conntrack_max: 2048, nf_conntrack_buckets: 1024 }
traffic:
  - kind: tcp-clients
    rate: 50
  - kind: syn-flood
    rate: 500
    start: 5s
`;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ctsim-cli-'));
}

/** Captures what main() prints on stdout/stderr. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

test.serial('same scenario and seed twice give byte-identical summary.json and timeseries.csv', async (t) => {
  const d = tmp();
  const f = join(d, 'tiny.yaml');
  writeFileSync(f, SCENARIO);
  const a = join(d, 'a'), b = join(d, 'b');
  t.is((await capture(['run', f, '--out', a, '--quiet'])).code, 0);
  t.is((await capture(['run', f, '--out', b, '--quiet'])).code, 0);
  for (const file of ['summary.json', 'timeseries.csv']) {
    const x = readFileSync(join(one(join(a, 'tiny'), 's1-r0-'), file));
    const y = readFileSync(join(one(join(b, 'tiny'), 's1-r0-'), file));
    t.true(x.equals(y), `${file} differs between identical runs`);
  }
  const manifest = JSON.parse(readFileSync(join(one(join(a, 'tiny'), 's1-r0-'), 'manifest.json'), 'utf8'));
  t.is(manifest.seed, 1);
  t.is(manifest.resolved_scenario.sysctl.nf_conntrack_max, 2048);
  t.regex(manifest.scenario_sha256, /^[0-9a-f]{64}$/);
  const csv = readFileSync(join(one(join(a, 'tiny'), 's1-r0-'), 'timeseries.csv'), 'utf8').trimEnd().split('\n');
  t.is(csv[0], 'time_s,count,fill,new,drop,early_drop,gc_early_drop,timeouts,invalid,legit_packets,legit_dropped,attack_packets,attack_dropped,kernel_bytes,legit_started,legit_succeeded,legit_failed,legit_failed_never_admitted,legit_failed_dropped,legit_failed_broken,legit_failed_reset,legit_failed_timeout,nat_port_util,id,scenario,policy,seed,run');
  t.true(csv[1]!.endsWith(`,${manifest.id},tiny,kernel,1,0`), 'identifying columns appended');
  t.is(csv.length, 1 + 21, 'a sample at 0, 1, …, 20 s');
});

test.serial('a different seed changes the results', async (t) => {
  const d = tmp();
  const f = join(d, 'tiny.yaml');
  writeFileSync(f, SCENARIO);
  await capture(['run', f, '--out', join(d, 'a'), '--quiet']);
  await capture(['run', f, '--out', join(d, 'b'), '--quiet', '--seed', '2']);
  const x = readFileSync(join(one(join(d, 'a', 'tiny'), 's1-r0-'), 'timeseries.csv'));
  const y = readFileSync(join(one(join(d, 'b', 'tiny'), 's2-r0-'), 'timeseries.csv'));
  t.false(x.equals(y));
});

test.serial('bad input: exit 2, every problem named with file and line, nothing written', async (t) => {
  const d = tmp();
  const f = join(d, 'bad.yaml');
  writeFileSync(f, 'name: bad\ntraffic:\n  - kind: syn-flod\n    rate: 10\nsysctl:\n  nf_conntrack_maxx: 5\n');
  const out = join(d, 'out');
  const r = await capture(['run', f, '--out', out]);
  t.is(r.code, 2);
  t.regex(r.err, /bad\.yaml:3: traffic\[0\]\.kind: .*syn-flood/);
  t.regex(r.err, /bad\.yaml:6: sysctl\.nf_conntrack_maxx: .*nf_conntrack_max/);
  t.false(existsSync(out), 'no results directory');
});

test.serial('bad input: missing file, YAML that does not parse, unknown flag, bad --set → exit 2', async (t) => {
  const d = tmp();
  t.is((await capture(['run', join(d, 'nope.yaml'), '--out', d])).code, 2);
  const f = join(d, 'broken.yaml');
  writeFileSync(f, 'name: x\ntraffic: [ {kind: syn-flood, rate: 1}\n');
  const r = await capture(['validate', f]);
  t.is(r.code, 2);
  t.regex(r.err, /broken\.yaml:\d+/);
  t.is((await capture(['run', f, '--no-such-flag'])).code, 2);
  const g = join(d, 'ok.yaml');
  writeFileSync(g, SCENARIO);
  const s = await capture(['validate', g, '--set', 'traffic[0].rate=-5']);
  t.is(s.code, 2);
  t.regex(s.err, /traffic\[0\]\.rate/);
  t.deepEqual(readdirSync(d).filter((n) => n.startsWith('.ctsim-tmp')), []);
});

test.serial('every command has --help with an example', async (t) => {
  for (const cmd of ['run', 'validate', 'list', 'replay', 'start', 'schema', 'compare', 'report', 'kernel-diff', 'regress', 'bench', 'sweep', 'merge']) {
    const r = await capture([cmd, '--help']);
    t.is(r.code, 0, cmd);
    t.regex(r.out, /Example/, `${cmd} --help shows an example`);
  }
});

test.serial('list names every generator and policy', async (t) => {
  const r = await capture(['list', '--json']);
  t.is(r.code, 0);
  const l = JSON.parse(r.out);
  t.deepEqual(l.generators.map((g: { name: string }) => g.name), ['syn-flood', 'tcp-clients', 'udp-request-response', 'idle-nat-flows', 'icmp', 'port-scan', 'capture']);
  t.true(l.policies.some((p: { name: string }) => p.name === 'kernel'));
  t.true(l.scenarios.some((s: { name: string }) => s.name === 'mixed'));
});

test.serial('memory guard: a table that cannot fit fails at once with the figure it needs, nothing written', async (t) => {
  const d = tmp();
  const f = join(d, 'huge.yaml');
  writeFileSync(f, 'name: huge\nduration: 1s\nsysctl: { nf_conntrack_max: 2000000000 }\ntraffic: [ { kind: syn-flood, rate: 10 } ]\n');
  const r = await capture(['run', f, '--out', join(d, 'out')]);
  t.is(r.code, 2);
  t.regex(r.err, /cannot fit in memory: it needs [\d.]+ GiB/);
  t.false(existsSync(join(d, 'out')));
});
