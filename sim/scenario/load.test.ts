import test from 'ava';
import { formatIssue, loadScenario, parseOverridePath, scenarioBaseName, type ScenarioIssue } from './load.js';
import { TEST_REGISTRY } from './test-registry.js';

const FILE = 'scenarios/flood.yaml';
const MIN = 'traffic:\n  - kind: syn-flood\n    rate: 100\n';

/** Loads `text` and returns its issues (failing the test if it loads). */
function issuesOf(t: { fail(m: string): void }, text: string, overrides: string[] = [], file = FILE): ScenarioIssue[] {
  const r = loadScenario(text, file, TEST_REGISTRY, overrides);
  if (r.ok) {
    t.fail('expected issues');
    return [];
  }
  return r.issues;
}

const one = (path: string, line: number | undefined, message: RegExp) => ({ path, line, message });

/** Asserts exactly one issue with this path, line and message. */
function expectOne(t: import('ava').ExecutionContext, text: string, want: ReturnType<typeof one>, overrides: string[] = []): ScenarioIssue {
  const issues = issuesOf(t, text, overrides);
  t.is(issues.length, 1, issues.map(formatIssue).join('\n'));
  const i = issues[0]!;
  t.is(i.path, want.path);
  t.is(i.line, want.line);
  t.regex(i.message, want.message);
  return i;
}

test('wrong type: seed "x"', (t) => {
  const i = expectOne(t, `seed: "x"\n${MIN}`, one('seed', 1, /^expected an integer in 0..9007199254740991, got "x"$/));
  t.is(formatIssue(i), 'scenarios/flood.yaml:1: seed: expected an integer in 0..9007199254740991, got "x"');
});

test('negative rate', (t) => {
  expectOne(t, 'traffic:\n  - kind: web-clients\n  - kind: syn-flood\n    rate: -5\n', one('traffic[1].rate', 4, /expected a number > 0, got -5/));
});

test('unknown generator kind with did-you-mean and the known list', (t) => {
  expectOne(t, 'seed: 3\ntraffic:\n  - kind: synflood\n    rate: 1\n',
    one('traffic[0].kind', 3, /^unknown generator "synflood" \(did you mean "syn-flood"\?\); known: syn-flood, web-clients$/));
});

test('unknown policy name, bare and in a mapping', (t) => {
  expectOne(t, `${MIN}policies:\n  - kernal\n`, one('policies[0]', 5, /unknown policy "kernal" \(did you mean "kernel"\?\); known: kernel, adaptive-timeout/));
  expectOne(t, `${MIN}policies:\n  - kernel\n  - { name: lru }\n`, one('policies[1].name', 6, /unknown policy "lru"; known: kernel, adaptive-timeout/));
});

test('unknown sysctl name with did-you-mean', (t) => {
  expectOne(t, `sysctl:\n  nf_conntrack_mx: 5\n${MIN}`, one('sysctl.nf_conntrack_mx', 2, /unknown sysctl "nf_conntrack_mx" \(did you mean "nf_conntrack_max"\?\)/));
});

test('sysctl value out of range', (t) => {
  expectOne(t, `sysctl:\n  nf_conntrack_max: 65536\n  nf_conntrack_tcp_loose: 2\n${MIN}`,
    one('sysctl.nf_conntrack_tcp_loose', 3, /expected 0\.\.1 \(bool\), got 2/));
});

test('unknown top-level key with did-you-mean', (t) => {
  expectOne(t, `${MIN}duraton: 5s\n`, one('duraton', 4, /^unknown key "duraton" \(did you mean "duration"\?\)$/));
  expectOne(t, `${MIN}zzz: 1\n`, one('zzz', 4, /unknown key "zzz"; allowed: name, description, seed/));
});

test('bad duration string', (t) => {
  expectOne(t, `duration: 5 fortnights\n${MIN}`, one('duration', 1, /invalid duration "5 fortnights": expected e\.g\. .*"250ms"/));
  expectOne(t, `sample_interval: 0s\n${MIN}`, one('sample_interval', 1, /expected a duration > 0s, got "0s"/));
});

test('runs: 0', (t) => {
  expectOne(t, `${MIN}runs: 0\n`, one('runs', 4, /expected an integer ≥ 1, got 0/));
});

test('hz: 123', (t) => {
  expectOne(t, `kernel:\n  hz: 123\n${MIN}`, one('kernel.hz', 2, /expected one of 100, 250, 300, 1000, got 123/));
});

test('unquoted kernel version gets a hint', (t) => {
  expectOne(t, `kernel:\n  version: 6.10\n${MIN}`, one('kernel.version', 2, /"major\.minor".*got the number 6\.1 \(quote it/));
});

test('YAML that does not parse reports its line', (t) => {
  const issues = issuesOf(t, 'seed: 1\ntraffic:\n  - kind: syn-flood\n   rate: [1\n');
  t.true(issues.length >= 1);
  t.is(issues[0]!.path, '');
  t.is(issues[0]!.file, FILE);
  t.true(issues[0]!.line !== undefined && issues[0]!.line >= 3, formatIssue(issues[0]!));
  t.regex(issues[0]!.message, /^syntax error: /);
  const dup = issuesOf(t, 'seed: 1\nseed: 2\n');
  t.is(dup[0]!.line, 2);
  t.regex(dup[0]!.message, /unique/);
});

test('an empty file and a non-mapping top level are issues', (t) => {
  for (const text of ['', '\n# only a comment\n']) {
    const [i, ...rest] = issuesOf(t, text);
    t.is(rest.length, 0);
    t.is(formatIssue(i!), 'scenarios/flood.yaml: the file is empty; expected a mapping with at least a "traffic" list');
  }
  expectOne(t, '- 1\n- 2\n', one('', 1, /expected a mapping of scenario settings at the top level, got a list of 2 items/));
  expectOne(t, 'seed: 1\n', one('traffic', 1, /missing required field \(expected a list of at least 1 item\)/));
});

test('several problems in one file are all reported, in line order', (t) => {
  const text = [
    'seed: -1', //                      1
    'runs: 0', //                       2
    'kernel:', //                       3
    '  hz: 123', //                     4
    '  memory: 12 bananas', //          5
    'sysctl:', //                       6
    '  nf_conntrack_mx: 5', //          7
    'traffic:', //                      8
    '  - kind: synflood', //            9
    '  - kind: web-clients', //        10
    '    class: atack', //             11
    '    rate: 0', //                  12
    'policies: [kernel, { name: adaptive-timeout, start: 2 }]', // 13
    'colour: blue', //                 14
  ].join('\n');
  const got = issuesOf(t, text).map((i) => [i.line, i.path]);
  t.deepEqual(got, [
    [1, 'seed'], [2, 'runs'], [4, 'kernel.hz'], [5, 'kernel.memory'], [7, 'sysctl.nf_conntrack_mx'],
    [9, 'traffic[0].kind'], [11, 'traffic[1].class'], [12, 'traffic[1].rate'], [13, 'policies[1].start'], [14, 'colour'],
  ]);
});

test('JSON input with issues carries lines too', (t) => {
  const json = JSON.stringify({ seed: 1, traffic: [{ kind: 'web-clients', rate: -1 }], kernel: { hz: 99 } }, null, 2);
  const issues = issuesOf(t, json, [], 'scenarios/x.json');
  t.deepEqual(issues.map((i) => formatIssue(i)), [
    'scenarios/x.json:6: traffic[0].rate: expected a number > 0, got -1',
    'scenarios/x.json:10: kernel.hz: expected one of 100, 250, 300, 1000, got 99',
  ]);
  const ok = loadScenario('{"traffic": [{"kind": "syn-flood", "rate": 5}]}', 'scenarios/x.json', TEST_REGISTRY);
  t.true(ok.ok);
  if (ok.ok) t.is(ok.scenario.name, 'x');
});

test('--set overrides values, including nested and new keys', (t) => {
  const text = `${MIN}kernel:\n  hz: 100\n`;
  const r = loadScenario(text, FILE, TEST_REGISTRY, [
    'sysctl.nf_conntrack_max=65536', 'traffic[0].rate=5000', 'kernel.hz=1000', 'kernel.hashsize=4096',
    'traffic[1].kind=web-clients', 'description=quick test', 'duration=2m',
  ]);
  t.true(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
  if (!r.ok) return;
  t.is(r.scenario.sysctl.nf_conntrack_max, 65536);
  t.is(r.scenario.traffic[0]!['rate'], 5000);
  t.is(r.scenario.traffic[1]!.kind, 'web-clients');
  t.is(r.scenario.kernel.hz, 1000);
  t.is(r.scenario.kernel.hashsize, 4096);
  t.is(r.scenario.description, 'quick test');
  t.is(r.scenario.duration, 120_000_000);
});

test('--set of an invalid value is reported against the command line', (t) => {
  const [i, ...rest] = issuesOf(t, MIN, ['traffic[0].rate=-3']);
  t.is(rest.length, 0);
  t.deepEqual(i, { file: 'command line', path: 'traffic[0].rate', message: 'expected a number > 0, got -3 (from --set traffic[0].rate=-3)' });
});

test('--set replaces another spelling of the same sysctl', (t) => {
  const r = loadScenario(`sysctl:\n  net.netfilter.nf_conntrack_max: 10\n${MIN}`, FILE, TEST_REGISTRY, ['sysctl.nf_conntrack_max=20']);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.scenario.sysctl, { nf_conntrack_max: 20 });
});

test('malformed --set overrides are issues at path --set', (t) => {
  const bad = ['seed', '=5', 'traffic[x].rate=1', 'traffic[5].rate=1', 'seed.x=1', 'traffic.rate=1', 'seed=[1'];
  const issues = issuesOf(t, `seed: 1\n${MIN}`, bad);
  t.is(issues.length, bad.length, issues.map(formatIssue).join('\n'));
  for (const [k, i] of issues.entries()) {
    t.is(i.file, 'command line');
    t.is(i.path, '--set');
    t.is(i.line, undefined);
    t.true(i.message.startsWith(`malformed override ${JSON.stringify(bad[k])}: `), i.message);
  }
  t.regex(issues[3]!.message, /traffic has 1 item; index 5 is out of range/);
  t.regex(issues[4]!.message, /seed is a single value/);
});

test('override paths', (t) => {
  t.deepEqual(parseOverridePath('traffic[0].rate'), ['traffic', 0, 'rate']);
  t.deepEqual(parseOverridePath('sysctl.net.netfilter.nf_conntrack_max'), ['sysctl', 'net.netfilter.nf_conntrack_max']);
  t.deepEqual(parseOverridePath('sysctl["net.netfilter.nf_conntrack_max"]'), ['sysctl', 'net.netfilter.nf_conntrack_max']);
  t.is(typeof parseOverridePath('.seed'), 'string');
  t.is(typeof parseOverridePath('a[0]b'), 'string');
  t.is(scenarioBaseName('a/b/syn-flood.yaml'), 'syn-flood');
  t.is(scenarioBaseName('c:\\x\\web.json'), 'web');
});

test('the net.netfilter. prefix is accepted and canonicalised', (t) => {
  const text = `sysctl:\n  net.netfilter.nf_conntrack_max: 131072\n  net.nf_conntrack_max: 5\n${MIN}`;
  expectOne(t, text, one('sysctl["net.nf_conntrack_max"]', 3, /"net\.nf_conntrack_max" and "net\.netfilter\.nf_conntrack_max" name the same setting/));
  const r = loadScenario(`sysctl:\n  net.netfilter.nf_conntrack_udp_timeout: 60\n${MIN}`, FILE, TEST_REGISTRY);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.scenario.sysctl, { nf_conntrack_udp_timeout: 60 });
  expectOne(t, `sysctl:\n  net.netfilter.nf_conntrack_udp_timeout: -1\n${MIN}`,
    one('sysctl["net.netfilter.nf_conntrack_udp_timeout"]', 2, /expected 0\.\.\d+ \(seconds\), got -1/));
});

test('the $schema key is allowed and dropped; anchors resolve', (t) => {
  const r = loadScenario(`$schema: ./scenario.schema.json\n${MIN}`, FILE, TEST_REGISTRY);
  t.true(r.ok);
  if (r.ok) t.false('$schema' in r.scenario);
  const issues = issuesOf(t, 'defaults: &d { kind: syn-flood, rate: -1 }\ntraffic: [*d]\n');
  t.deepEqual(issues.map((i) => [i.line, i.path]), [[1, 'defaults'], [1, 'traffic[0].rate']]);
});
