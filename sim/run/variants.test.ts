/**
 * Scenario variants (`variants:`) as arms of `ctsim compare --arms`: their validation (every
 * problem with its file line and path), the scenario each arm runs, the arm list syntax, and
 * the comparison's guarantee that every arm sees identical traffic.
 */
import test from 'ava';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { scenarioFromYaml } from '../index.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import { InputError } from '../io/errors.js';
import { SYSCTL_NAMES } from '../conntrack/sysctl.js';
import { compare } from './compare.js';
import { parseCompareArms, parseVariantArms } from './arms.js';
import { armScenario } from './variants.js';
import { comparisonId, runId } from '../store/ids.js';
import { observe, type Trace } from './traffic-trace.testkit.js';

const REG = { generators: GENERATORS, policies: POLICIES };

const YAML = `
name: variants
duration: 30s
sysctl: { nf_conntrack_max: 512, nf_conntrack_buckets: 512, nf_conntrack_tcp_timeout_syn_recv: 30 }
kernel: { memory: 1GiB }
traffic:
  - { kind: tcp-clients, label: web, rate: 20 }
  - { kind: syn-flood, label: flood, rate: 200, start: 5s, stop: 20s }
policies: [kernel]
variants:
  - name: bigger-table
    sysctl: { nf_conntrack_max: 2048 }
  - name: hz1000-lru
    kernel: { hz: 1000 }
    policies: [lru]
`;

const issuesOf = (text: string): string[] => {
  const r = loadScenario(text, 'v.yaml', REG);
  return r.ok ? [] : r.issues.map(formatIssue);
};

test('variants: parsed with their overrides; the arm scenario merges sysctl and kernel, replaces policies, drops the list', (t) => {
  const sc = scenarioFromYaml(YAML);
  t.deepEqual(sc.variants!.map((v) => v.name), ['bigger-table', 'hz1000-lru']);
  const big = armScenario(sc, { variant: 'bigger-table', policies: sc.policies });
  t.is(big.sysctl.nf_conntrack_max, 2048);
  t.is(big.sysctl.nf_conntrack_buckets, 512, 'other sysctls are the scenario\'s');
  t.is(big.sysctl.nf_conntrack_tcp_timeout_syn_recv, 30);
  t.is(big.kernel.memory, 1024 ** 3);
  t.is(big.traffic, sc.traffic, 'the traffic is the scenario\'s own');
  t.false('variants' in big);
  const hz = armScenario(sc, { variant: 'hz1000-lru', policies: [{ name: 'lru' }] });
  t.is(hz.kernel.hz, 1000);
  t.is(hz.kernel.memory, 1024 ** 3, 'kernel options not given keep the scenario\'s');
  t.deepEqual(hz.policies, [{ name: 'lru' }]);
  t.is(armScenario(sc, { policies: sc.policies }).sysctl.nf_conntrack_max, 512);
  t.throws(() => armScenario(sc, { variant: 'nope', policies: [] }), { message: /no variant "nope"/ });
});

test('variants: every problem is bad input at its path and line (fixed fields, duplicates, policy names, unknown keys)', (t) => {
  const bad = `name: v
traffic:
  - { kind: tcp-clients, rate: 20 }
variants:
  - name: a
    traffic: []
  - name: kernel
    sysctl: { nf_conntrack_maxx: 5 }
  - name: a
    seed: 3
    rulset: x
`;
  t.deepEqual(issuesOf(bad), [
    'v.yaml:6: variants[0].traffic: cannot vary between arms: every arm runs the scenario\'s traffic so that the traffic is identical; a variant may override ruleset, sysctl, kernel, policies',
    'v.yaml:7: variants[1].name: "kernel" is a policy name; an arm label names either a policy or a variant, so give the variant another name',
    `v.yaml:8: variants[1].sysctl.nf_conntrack_maxx: unknown sysctl "nf_conntrack_maxx" (did you mean "nf_conntrack_max"?); known: ${SYSCTL_NAMES.length} names (see scenario.schema.json)`,
    'v.yaml:9: variants[2].name: "a" is already the name of variants[0]; variant names label arms and must be unique',
    'v.yaml:10: variants[2].seed: cannot vary between arms: every arm runs the scenario\'s seed so that the traffic is identical; a variant may override ruleset, sysctl, kernel, policies',
    'v.yaml:11: variants[2].rulset: unknown key "rulset" (did you mean "ruleset"?)',
  ]);
});

test('variants: a ruleset error names the variant path, with line and column inside an inline ruleset; a missing file too', (t) => {
  const bad = `name: v
traffic:
  - { kind: tcp-clients, rate: 20 }
variants:
  - name: ok
    sysctl: { nf_conntrack_max: 2048 }
  - name: rules
    ruleset: |
      table ip nat {
        chain post { type nat hook postrouting priority srcnat; bogus; }
      }
  - name: file
    ruleset: no-such-file.nft
`;
  const issues = issuesOf(bad);
  t.is(issues.length, 2);
  t.regex(issues[0]!, /^v\.yaml:10:65: variants\[1\]\.ruleset: unknown or unsupported "bogus"/);
  t.regex(issues[1]!, /^v\.yaml:13: variants\[2\]\.ruleset: cannot read ruleset "no-such-file\.nft": no such file/);
});

test('--arms: variants, policy stacks and VARIANT:POLICIES; unknown names get the closest suggestion; labels once', (t) => {
  const sc = scenarioFromYaml(YAML);
  const arms = parseCompareArms({ policies: 'kernel', arms: 'bigger-table,hz1000-lru,l4-aware+keepalive,bigger-table:lru' }, sc, POLICIES);
  t.deepEqual(arms.map((a) => [a.label, a.variant, a.policies.map((p) => p.name).join('+')]), [
    ['kernel', undefined, 'kernel'],
    ['bigger-table', 'bigger-table', 'kernel'],
    ['hz1000-lru', 'hz1000-lru', 'lru'],
    ['l4-aware+keepalive', undefined, 'l4-aware+keepalive'],
    ['bigger-table:lru', 'bigger-table', 'lru'],
  ]);
  const err = (f: () => unknown) => { const e = t.throws(f, { instanceOf: InputError }); return e!.message; };
  t.regex(err(() => parseVariantArms('biger-table', sc, POLICIES)), /^--arms: unknown arm "biger-table" \(did you mean "bigger-table"\?\); an arm is a variant of variants \(bigger-table, hz1000-lru\)/);
  t.regex(err(() => parseVariantArms('bigger-tabel:kernel', sc, POLICIES)), /unknown arm "bigger-tabel" \(did you mean "bigger-table"\?\)/);
  t.regex(err(() => parseVariantArms('bigger-table:lur', sc, POLICIES)), /^--arms bigger-table:lur: unknown policy "lur" \(did you mean "lru"\?\)/);
  t.regex(err(() => parseCompareArms({ policies: 'kernel', arms: 'kernel' }, sc, POLICIES)), /"kernel" is given twice/);
  t.regex(err(() => parseCompareArms({}, sc, POLICIES)), /expected --policies LIST and\/or --arms LIST .*--arms bigger-table,hz1000-lru/);
});

test('compare: variant arms see the same attack packets and hash key as the policy arm; outcomes differ; paired against a variant baseline', (t) => {
  const sc = scenarioFromYaml(YAML);
  const arms = parseCompareArms({ policies: 'kernel', arms: 'bigger-table,hz1000-lru' }, sc, POLICIES);
  let c: ReturnType<typeof compare> | undefined;
  const traces = observe(() => { c = compare(sc, arms, 2, REG, undefined, 'bigger-table'); });
  t.is(traces.length, 6, 'one simulation per arm and run');
  const [k0, k1, b0, b1, h0, h1] = traces as Trace[] as [Trace, Trace, Trace, Trace, Trace, Trace];
  t.true(k0.attack.length > 2000, `the flood ran (${k0.attack.length} packets)`);
  t.deepEqual(b0.attack, k0.attack);
  t.deepEqual(h0.attack, k0.attack);
  t.deepEqual(b1.attack, k1.attack);
  t.deepEqual(h1.attack, k1.attack);
  t.notDeepEqual(k1.attack, k0.attack, 'run 1 is other traffic than run 0');
  t.is(b0.key, k0.key);
  t.is(h0.key, k0.key);
  t.not(b0.verdicts, k0.verdicts, 'a 4× table decides differently: the check above could fail');
  const byLabel = Object.fromEntries(c!.arms.map((a) => [a.label, a]));
  t.is(c!.baseline, 'bigger-table');
  t.is(byLabel['bigger-table']!.paired, null);
  t.is(byLabel['bigger-table']!.variant, 'bigger-table');
  t.deepEqual(byLabel['bigger-table']!.overrides, ['sysctl.nf_conntrack_max=2048']);
  t.deepEqual(byLabel['hz1000-lru']!.overrides, ['kernel.hz=1000', 'policies: lru']);
  t.is(byLabel['kernel']!.variant, undefined);
  const k = byLabel['kernel']!, b = byLabel['bigger-table']!;
  t.is(b.sample.nf_conntrack_max, 2048);
  t.is(k.sample.nf_conntrack_max, 512);
  // the paired difference is the per-run difference from the variant baseline, computed here independently
  const diffs = [0, 1].map((r) => k.perRun[r]!.peak_count! - b.perRun[r]!.peak_count!);
  t.is(k.paired!.peak_count.mean_diff, (diffs[0]! + diffs[1]!) / 2);
  t.true(k.paired!.peak_count.mean_diff! < 0, 'the smaller table peaks lower');
});

test('ids: a variants list does not change run ids or policy-only comparison ids; the variants an arm runs are part of its comparison id', (t) => {
  const plain = scenarioFromYaml(YAML.slice(0, YAML.indexOf('variants:')));
  const sc = scenarioFromYaml(YAML);
  const other = scenarioFromYaml(YAML.replace('nf_conntrack_max: 2048', 'nf_conntrack_max: 4096'));
  t.is(runId(sc, 0, 'v', []), runId(plain, 0, 'v', []), 'a run does not depend on the variants it does not run');
  const pol = parseCompareArms({ policies: 'kernel' }, sc, POLICIES);
  t.is(comparisonId(sc, pol, 1, 'v', []), comparisonId(plain, pol, 1, 'v', []));
  t.is(comparisonId(sc, pol, 1, 'v', []), comparisonId(other, pol, 1, 'v', []));
  const big = (s: typeof sc) => parseCompareArms({ policies: 'kernel', arms: 'bigger-table' }, s, POLICIES);
  t.not(comparisonId(sc, big(sc), 1, 'v', []), comparisonId(other, big(other), 1, 'v', []), 'another bigger-table is another comparison');
  const hz = (s: typeof sc) => parseCompareArms({ arms: 'hz1000-lru' }, s, POLICIES);
  t.is(comparisonId(sc, hz(sc), 1, 'v', []), comparisonId(other, hz(other), 1, 'v', []), 'a variant not run does not count');
  t.not(runId(armScenario(sc, big(sc)[1]!), 0, 'v', []), runId(armScenario(other, big(other)[1]!), 0, 'v', []));
});
