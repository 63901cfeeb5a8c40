import test from 'ava';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { loadScenario, formatIssue } from '../scenario/load.js';
import type { Scenario } from '../scenario/scenario.js';
import { Simulation, type Registries } from './simulation.js';
import { runSummary, type RunSummary } from './summary.js';
import { armRun } from './compare.js';
import { pairedDiff, runCounters } from './paired.js';

const REG: Registries = { generators: GENERATORS, policies: POLICIES };
const SCENARIOS = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

function load(text: string, name: string, overrides: string[] = []): Scenario {
  const r = loadScenario(text, name, REG, overrides);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.scenario;
}

function summarise(sc: Scenario, run = 0): RunSummary {
  const sim = new Simulation(sc, run, REG);
  sim.runToEnd();
  return runSummary(sim);
}

type Outcome = RunSummary['classes'][string];

/** started = succeeded + failed + unfinished; failed = Σ reasons; unfinished = admitting + in progress. */
function identityErrors(where: string, o: Outcome): string[] {
  const errs: string[] = [];
  const reasons = Object.values(o.failed_by).reduce((a, b) => a + b, 0);
  if (o.started !== o.succeeded + o.failed + o.unfinished.total) errs.push(`${where}: started ${o.started} ≠ succeeded ${o.succeeded} + failed ${o.failed} + unfinished ${o.unfinished.total}`);
  if (o.failed !== reasons) errs.push(`${where}: failed ${o.failed} ≠ Σ failed_by ${reasons}`);
  if (o.unfinished.total !== o.unfinished.admitting + o.unfinished.in_progress) errs.push(`${where}: unfinished split`);
  if (o.broken > o.failed) errs.push(`${where}: broken ${o.broken} > failed ${o.failed}`);
  for (const [k, v] of Object.entries({ ...o.failed_by, ...o.unfinished })) if (v < 0) errs.push(`${where}: ${k} < 0`);
  return errs;
}

function summaryErrors(s: RunSummary): string[] {
  const errs: string[] = [];
  for (const g of s.generators) errs.push(...identityErrors(`generator ${g.label}`, g));
  for (const [cls, o] of Object.entries(s.classes)) {
    errs.push(...identityErrors(`class ${cls}`, o));
    const gs = s.generators.filter((g) => g.class === cls);
    for (const k of ['started', 'succeeded', 'failed'] as const) {
      const sum = gs.reduce((a, g) => a + g[k], 0);
      if (sum !== o[k]) errs.push(`class ${cls}: ${k} ${o[k]} ≠ Σ generators ${sum}`);
    }
  }
  return errs;
}

const builtins = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort();

for (const f of builtins) {
  test(`accounting identity on the built-in scenario ${f}, per generator and per class`, (t) => {
    const text = readFileSync(join(SCENARIOS, f), 'utf8');
    const sc = load(text, f);
    const s = summarise(sc);
    t.deepEqual(summaryErrors(s), []);
    t.true(s.generators.some((g) => g.started > 0));
  });
}

test('a flood leaving web flows retrying their SYN at the end: they are unfinished (admitting), not missing', (t) => {
  const text = readFileSync(join(SCENARIOS, 'syn-flood-vs-web.yaml'), 'utf8');
  const s = summarise({ ...load(text, 'syn-flood-vs-web.yaml'), policies: [{ name: 'none', params: {} }] } as Scenario);
  const web = s.generators.find((g) => g.label === 'web')!;
  t.deepEqual(identityErrors('web', web), []);
  t.true(web.unfinished.admitting > 100, `admitting at end: ${web.unfinished.admitting}`);
  t.true(web.failed_by.never_admitted > 0);
  // the headline rate counts them as not (yet) successful
  t.is(web.success_rate, Math.round((web.succeeded / (web.succeeded + web.failed + web.unfinished.admitting)) * 1e6) / 1e6);
  t.true(web.success_rate! < web.success_rate_ended!);
});

test('SYN flood: early drop (kernel) beats tail drop (none) on the headline legit success rate', (t) => {
  const text = readFileSync(join(SCENARIOS, 'syn-flood-vs-web.yaml'), 'utf8');
  const sc = load(text, 'syn-flood-vs-web.yaml');
  const kernel = armRun(sc, { label: 'kernel', policies: [{ name: 'kernel', params: {} }] as Scenario['policies'] }, 0, REG);
  const none = armRun(sc, { label: 'none', policies: [{ name: 'none', params: {} }] as Scenario['policies'] }, 0, REG);
  t.true(kernel.legit_success_rate! > none.legit_success_rate! + 0.3, `kernel ${kernel.legit_success_rate} none ${none.legit_success_rate}`);
});

test('DNS: an answer that lost its entry but succeeded on a retry is not a failure; broken ≤ failed', (t) => {
  const text = readFileSync(join(SCENARIOS, 'dns-under-load.yaml'), 'utf8');
  const s = summarise(load(text, 'dns-under-load.yaml'));
  for (const g of s.generators) {
    t.true(g.broken <= g.failed, `${g.label}: broken ${g.broken} failed ${g.failed}`);
    t.is(g.broken, g.failed_by.broken);
  }
  t.true(s.generators.some((g) => g.entry_lost > g.broken), 'some lookups lost an entry and recovered');
});

test('property: the identity holds for random mixes of generators, table sizes and policies', (t) => {
  fc.assert(fc.property(
    fc.record({
      max: fc.constantFrom(64, 256, 1024),
      web: fc.integer({ min: 1, max: 60 }),
      flood: fc.integer({ min: 0, max: 400 }),
      dns: fc.integer({ min: 0, max: 60 }),
      udp: fc.integer({ min: 0, max: 10 }),
      ping: fc.integer({ min: 0, max: 5 }),
      scan: fc.integer({ min: 0, max: 100 }),
      idle: fc.integer({ min: 0, max: 20 }),
      duration: fc.integer({ min: 5, max: 40 }),
      policy: fc.constantFrom('kernel', 'none', 'lru', 'random', 'l4-aware', 'keepalive'),
      seed: fc.integer({ min: 1, max: 1000 }),
    }),
    (c) => {
      const traffic = [
        `  - { kind: tcp-clients, label: web, rate: ${c.web}, misbehave: { vanish: 0.1, fin_resend: 0.05, half_open: 0.05 } }`,
        c.flood > 0 ? `  - { kind: syn-flood, label: flood, rate: ${c.flood}, start: 2s, syn_retries: 2 }` : '',
        c.dns > 0 ? `  - { kind: udp-request-response, label: dns, rate: ${c.dns}, loss: 0.05 }` : '',
        c.udp > 0 ? `  - { kind: udp-request-response, label: media, mode: stream, flow_duration: 8, rate: ${c.udp} }` : '',
        c.ping > 0 ? `  - { kind: icmp, label: ping, rate: ${c.ping} }` : '',
        c.scan > 0 ? `  - { kind: port-scan, label: scan, rate: ${c.scan}, ports: [22, 80, 443], open: [80] }` : '',
        c.idle > 0 ? `  - { kind: idle-nat-flows, label: pool, flows: ${c.idle}, idle: 3 }` : '',
      ].filter((l) => l !== '').join('\n');
      const sc = load(`name: prop\nseed: ${c.seed}\nduration: ${c.duration}s\nsysctl: { nf_conntrack_max: ${c.max}, nf_conntrack_buckets: ${c.max} }\npolicies: [${c.policy}]\ntraffic:\n${traffic}\n`, 'prop.yaml');
      const errs = summaryErrors(summarise(sc));
      if (errs.length > 0) console.error(JSON.stringify(c), errs);
      if (errs.length > 0) throw new Error(errs.join('\n'));
    },
  ), { numRuns: 25, seed: 14 });
  t.pass();
});

test('runCounters: policies and rules (a list of named entries or a map), user counters included, repeated names numbered', (t) => {
  t.deepEqual(runCounters({
    policies: [{ name: 'keepalive', probes_sent: 3, note: 'x' }, { name: 'kernel' }, { name: 'keepalive', probes_sent: 5 }],
    rules: { 'drop-invalid': { packets: 7, bytes: 700 }, total: 9 },
  }), {
    'policy.keepalive.probes_sent': 3, 'policy.keepalive#2.probes_sent': 5,
    'rule.drop-invalid.packets': 7, 'rule.drop-invalid.bytes': 700, 'rule.total': 9,
  });
  t.deepEqual(runCounters({ policies: [], rules: [{ name: 'r1', hits: 2 }] }), { 'rule.r1.hits': 2 });
  // summary.json's rules block: by rule id, packets, bytes and drops by class
  t.deepEqual(runCounters({ policies: [], rules: [{ id: 0, line: 4, text: 'x', packets: 3, bytes: 180, drops: { legit: 1, attack: 2 } }] }),
    { 'rule.0.packets': 3, 'rule.0.bytes': 180, 'rule.0.dropped_legit': 1, 'rule.0.dropped_attack': 2 });
});

test('pairedDiff: mean difference, exact t interval, significance; runs where either side is null are skipped', (t) => {
  // differences 1, 2, 3: mean 2, sd 1, n 3 → half-width t(0.975, 2) / √3 = 4.3026527… / 1.7320508… = 2.4841377…
  const d = pairedDiff([11, 12, 13, null], [10, 10, 10, 5]);
  t.is(d.n, 3);
  t.is(d.mean_diff, 2);
  t.true(Math.abs(d.ci95! - 4.302652729749464 / Math.sqrt(3)) < 1e-9);
  t.false(d.significant, 'the interval (−0.48, 4.48) includes 0');
  const e = pairedDiff([11, 12, 13, 12, 11, 13], [10, 10, 10, 10, 10, 10]);
  t.true(e.significant && e.lo! > 0);
  t.deepEqual(pairedDiff([1], [0]), { n: 1, mean_diff: 1, ci95: null, lo: null, hi: null, significant: false });
  t.false(pairedDiff([5, 5], [5, 5]).significant, 'no difference, no variance: not significant');
});
