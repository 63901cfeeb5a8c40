/**
 * `routes:` and `ruleset:` in scenarios (docs/rules.md §5, §7): the route table and the ruleset
 * are built at validation; problems carry the scenario file's line (and, inside an inline
 * ruleset, its column), or the ruleset file's line and column.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIPv4 } from '../conntrack/addr.js';
import { Pkt } from '../conntrack/packet.js';
import { formatIssue, loadScenario } from './load.js';
import { TEST_REGISTRY } from './test-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'ctsim-rules-input-'));
const FILE = join(dir, 'gw.yaml');
const MIN = 'traffic:\n  - kind: syn-flood\n    rate: 100\n';
const ROUTES = 'routes:\n  - { prefix: 10.0.0.0/8, iface: lan0 }\n  - { prefix: 0.0.0.0/0, iface: wan0, addr: 203.0.113.1 }\n';
const RULES = 'table ip nat {\n  chain post {\n    type nat hook postrouting priority srcnat;\n    oifname "wan0" masquerade\n  }\n}\n';
const indent = (s: string, n: number): string => s.split('\n').map((l) => (l === '' ? l : ' '.repeat(n) + l)).join('\n');

const issues = (text: string, overrides: string[] = [], file = FILE): string[] => {
  const r = loadScenario(text, file, TEST_REGISTRY, overrides);
  return r.ok ? [] : r.issues.map(formatIssue);
};

test('an inline ruleset and routes load onto the scenario (scenario.ruleset, scenario.routes)', (t) => {
  const r = loadScenario(`${MIN}${ROUTES}ruleset: |\n${indent(RULES, 2)}`, FILE, TEST_REGISTRY);
  if (!r.ok) { t.fail(r.issues.map(formatIssue).join('\n')); return; }
  const { ruleset, routes } = r.scenario;
  t.truthy(ruleset);
  t.truthy(routes);
  t.is(routes!.name(routes!.ifaceOf(4, parseIPv4('10.1.1.1'))), 'lan0');
  t.is(routes!.addr(routes!.find('wan0')), parseIPv4('203.0.113.1'));
  t.is(ruleset!.rules[0].nat!.kind, 'masquerade');
  t.is(ruleset!.rules[0].line, 7 + 4); // `ruleset: |` is line 7, so the ruleset's line 4 is scenario line 11
  const p = new Pkt(); p.proto = 17; p.src = parseIPv4('10.1.1.1'); p.dst = parseIPv4('8.8.8.8');
  t.is(ruleset!.natLookup('postrouting', p, 0, 1), 0);
  // the scenario prints as written (manifests, resolved scenario)
  const json = JSON.parse(JSON.stringify(r.scenario)) as { ruleset: string; routes: unknown };
  t.is(json.ruleset, RULES);
  t.deepEqual(json.routes, [{ prefix: '10.0.0.0/8', iface: 'lan0' }, { prefix: '0.0.0.0/0', iface: 'wan0', addr: '203.0.113.1' }]);
});

test('a scenario without ruleset or routes has neither field', (t) => {
  const r = loadScenario(MIN, FILE, TEST_REGISTRY);
  t.true(r.ok);
  if (r.ok) { t.false('ruleset' in r.scenario); t.false('routes' in r.scenario); }
});

test('errors inside an inline ruleset name the scenario file, its line and column', (t) => {
  const text = `${MIN}${ROUTES}ruleset: |\n${indent(RULES.replace('masquerade', 'masquerade bogus'), 2)}`;
  // line 11 of the file: '      oifname "wan0" masquerade bogus' → "bogus" at column 33
  t.deepEqual(issues(text), [`${FILE}:11:33: ruleset: "bogus" follows a terminal statement (masquerade), which ends the rule; nothing after it has an effect`]);
  const deeper = `${MIN}${ROUTES}ruleset: |\n\n${indent(RULES.replace('srcnat', 'dstnat'), 4)}`;
  // a blank line first, 4 more spaces of indentation: ruleset line 4 is file line 11; "dstnat" at column 4 + 40
  t.deepEqual(issues(deeper), [`${FILE}:11:44: ruleset: priority "dstnat" is invalid at hook postrouting (nft allows it at prerouting and output)`]);
});

test('a ruleset file resolves against the scenario folder; its errors name that file', (t) => {
  writeFileSync(join(dir, 'gw.nft'), RULES);
  t.deepEqual(issues(`${MIN}${ROUTES}ruleset: gw.nft\n`), []);
  writeFileSync(join(dir, 'bad.nft'), RULES.replace('masquerade', 'masquerade to :2000-1000'));
  t.deepEqual(issues(`${MIN}${ROUTES}ruleset: bad.nft\n`), [`${join(dir, 'bad.nft')}:4:35: port range 2000-1000 has min 2000 > max 1000 (the ruleset of ${FILE})`]);
  t.deepEqual(issues(`${MIN}${ROUTES}ruleset: missing.nft\n`), [`${FILE}:7: ruleset: cannot read ruleset "${join(dir, 'missing.nft')}": no such file (a ruleset is inline text with "{", or a path relative to the scenario file)`]);
});

test('route problems are located at routes[i] with the scenario line', (t) => {
  const text = `${MIN}routes:\n  - { prefix: 10.0.0.0/8, iface: lan0 }\n  - { prefix: 10.0.0.0/8, iface: lan1 }\n  - { prefix: 10.1.0.0/8, iface: lan2, addr: nope }\n  - { iface: x }\n`;
  t.deepEqual(issues(text), [`${FILE}:8: routes[3].prefix: missing required field (expected a string)`]);
  const text2 = `${MIN}routes:\n  - { prefix: 10.0.0.0/8, iface: lan0 }\n  - { prefix: 10.0.0.0/8, iface: lan1 }\n  - { prefix: 10.1.0.0/8, iface: lan2, addr: nope }\n`;
  t.deepEqual(issues(text2), [
    `${FILE}:6: routes[1].prefix: ambiguous route: 10.0.0.0/8 is already routed to lan0 by routes[0]; a prefix needs exactly one interface`,
    `${FILE}:7: routes[2].prefix: "10.1.0.0/8" has bits set past the prefix length; did you mean 10.0.0.0/8?`,
    `${FILE}:7: routes[2].addr: "nope" is not an IPv4 or IPv6 address (expected the interface's own address, e.g. 10.98.0.1)`,
  ]);
});

test('interface names in the ruleset must be routes\' interfaces; masquerade needs routes', (t) => {
  t.deepEqual(issues(`${MIN}${ROUTES}ruleset: |\n${indent(RULES.replace('wan0', 'wan1'), 2)}`),
    [`${FILE}:11:15: ruleset: unknown interface "wan1"; the routes declare: lan0, wan0`]);
  t.deepEqual(issues(`${MIN}ruleset: |\n${indent(RULES, 2)}`),
    [`${FILE}:8:7: ruleset: oifname needs interfaces, and no routes were declared (routes: in a scenario, --route PREFIX=IFNAME in replay)`]);
});

test('--set ruleset=PATH resolves against the current directory, not the scenario folder', (t) => {
  writeFileSync(join(dir, 'cli.nft'), RULES);
  t.deepEqual(issues(`${MIN}${ROUTES}`, [`ruleset=${join(dir, 'cli.nft')}`], join(tmpdir(), 'elsewhere', 'x.yaml')), []);
  t.deepEqual(issues(`${MIN}${ROUTES}`, ['ruleset=cli.nft']), [
    'command line: ruleset: cannot read ruleset "cli.nft": no such file (a ruleset is inline text with "{", or a path relative to the scenario file) (from --set ruleset=cli.nft)',
  ]);
});
