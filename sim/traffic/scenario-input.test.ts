import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseStates } from '../conntrack/listing.js';
import { CaptureBuilder, T0, clientAddr } from '../replay/testkit.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import { POLICIES } from '../../policies/index.js';
import type { ScenarioRegistry } from '../scenario/scenario.js';
import { Harness } from './harness.js';
import { GENERATORS } from './registry.js';

const REG: ScenarioRegistry = { generators: GENERATORS, policies: POLICIES };
const dir = mkdtempSync(join(tmpdir(), 'ctsim-traffic-'));

/** The issues of a one-generator scenario, as `line: path: message`. */
function issues(gen: string): string[] {
  const r = loadScenario(`name: t\ntraffic:\n  - ${gen.trim().split('\n').join('\n    ')}\n`, 'bad.yaml', REG);
  return r.ok ? [] : r.issues.map(formatIssue);
}

test('bad rates, durations and distributions name their path', (t) => {
  t.regex(issues('kind: tcp-clients\nrate: -5')[0]!, /^bad\.yaml:4: traffic\[0\]\.rate: expected a number .*> 0/);
  t.regex(issues('kind: syn-flood\nrate: 2000000')[0]!, /traffic\[0\]\.rate: .*≤ 1000000/);
  t.regex(issues('kind: syn-flood\nrate: { shape: ramp, to: 0, over: 5s }')[0]!, /traffic\[0\]\.rate\.to: a ramp from 0 to 0 sends nothing/);
  t.regex(issues('kind: syn-flood\nrate: { shape: pulse, rate: 3 }')[0]!, /traffic\[0\]\.rate\.shape: unknown rate shape "pulse"/);
  t.regex(issues('kind: syn-flood\nrate: { shape: on-off, rate: 5, on: 1s }')[0]!, /traffic\[0\]\.rate\.off: /);
  t.regex(issues('kind: syn-flood\nrate: { shape: piecewise, steps: [ { at: 5s, rate: 1 }, { at: 2s, rate: 3 } ] }')[0]!,
    /traffic\[0\]\.rate\.steps\[1\]\.at: steps must be in increasing order/);
  t.regex(issues('kind: tcp-clients\nrate: 5\nhold: { dist: exponential, mean: -1 }')[0]!, /traffic\[0\]\.hold\.mean/);
  t.regex(issues('kind: tcp-clients\nrate: 5\nclient_rtt: fast')[0]!, /traffic\[0\]\.client_rtt: /);
  t.regex(issues('kind: tcp-clients\nrate: 5\nclient_rtt: { dist: normal, mean: 20 }')[0]!, /traffic\[0\]\.client_rtt\.sd/);
  t.regex(issues('kind: udp-request-response\nrate: 5\ntimeout: 0s')[0]!, /traffic\[0\]\.timeout: expected a duration > 0/);
  t.regex(issues('kind: udp-request-response\nrate: 5\nloss: 1.5')[0]!, /traffic\[0\]\.loss: expected a number in 0\.\.1/);
  t.regex(issues('kind: idle-nat-flows\nflows: 0')[0]!, /traffic\[0\]\.flows: /);
  t.regex(issues('kind: idle-nat-flows\nidle: 30')[0]!, /traffic\[0\]\.flows: /);
});

test('bad classes, misbehaviour fractions, ports and sources name their path', (t) => {
  t.regex(issues('kind: tcp-clients\nrate: 5\nclass: victim')[0]!, /traffic\[0\]\.class: expected one of "legit", "attack", got "victim"/);
  t.regex(issues('kind: tcp-clients\nrate: 5\nmisbehave: { vanish: 0.7, ignore_fin: 0.5 }')[0]!, /traffic\[0\]\.misbehave: fractions add up to 1\.2/);
  t.regex(issues('kind: tcp-clients\nrate: 5\nmisbehave: { vanishing: 0.1 }')[0]!, /traffic\[0\]\.misbehave\.vanishing: /);
  t.regex(issues('kind: tcp-clients\nrate: 5\nclose: { fin: 1 }')[0]!, /traffic\[0\]\.close\.fin: unknown name/);
  t.regex(issues('kind: port-scan\nrate: 5\nports: "100-20"')[0]!, /traffic\[0\]\.ports: /);
  t.regex(issues('kind: syn-flood\nrate: 5\nport: [80, 70000]')[0]!, /traffic\[0\]\.port\[1\]: /);
  t.regex(issues('kind: syn-flood\nrate: 5\nsources: { botnet: 0 }')[0]!, /traffic\[0\]\.sources\.botnet: /);
  t.regex(issues('kind: syn-flood\nrate: 5\nsources: [ 10.0.0.1, 300.1.1.1 ]')[0]!, /traffic\[0\]\.sources\[1\]: bad IPv4 address/);
});

test('a capture that cannot be read: the path in the scenario and the file', (t) => {
  t.regex(issues(`kind: capture\nfile: ${join(dir, 'nope.pcap')}`)[0]!, /^bad\.yaml:4: traffic\[0\]\.file: cannot read capture ".*nope\.pcap": no such file/);
  const junk = join(dir, 'junk.pcap');
  writeFileSync(junk, 'this is not a capture');
  t.regex(issues(`kind: capture\nfile: ${junk}`)[0]!, /traffic\[0\]\.file: cannot use capture ".*junk\.pcap": .*not a capture file/);
});

test('a capture replays among synthetic traffic, and its flows reach their table states', (t) => {
  const b = new CaptureBuilder();
  for (let i = 0; i < 10; i++) b.tcpConnection(T0 + i * 100_000, clientAddr(i), 40000 + i, '192.0.2.80', 80, { close: true });
  const file = join(dir, 'ten.pcap');
  writeFileSync(file, b.pcap());
  const h = new Harness({ record: true, endUs: 20e6 });
  const cap = h.add('capture', { file, start: '2s' });
  h.add('udp-request-response', { rate: { shape: 'constant', rate: 10 }, stop: '1s' });
  h.run(5e6);
  t.is(cap.outcomes.packets, 70);
  t.is(h.packets(0)[0]![0], 2_000_000);
  t.deepEqual(summariseStates(h.ct), { 'tcp TIME_WAIT ASSURED': 10, 'udp -': 10 });
  // looped and sped up
  const h2 = new Harness({ endUs: 10e6 });
  const c2 = h2.add('capture', { file, speed: 10, loop: true, loop_gap: '1s' });
  h2.run();
  t.true(c2.outcomes.packets >= 7 * 70);
  // the resolved scenario prints the capture as its path
  const r = loadScenario(`traffic:\n  - kind: capture\n    file: ${file}\n`, 'c.yaml', REG);
  t.true(r.ok);
  if (r.ok) t.is(JSON.parse(JSON.stringify(r.scenario)).traffic[0].file, file);
});

test('a relative capture path is read from the scenario file\'s folder; a --set path from the current directory', (t) => {
  const sub = join(dir, 'scen');
  mkdirSync(join(sub, 'caps'), { recursive: true });
  const b = new CaptureBuilder();
  b.tcpConnection(T0, clientAddr(1), 40001, '192.0.2.80', 80, { close: true });
  writeFileSync(join(sub, 'caps', 'one.pcap'), b.pcap());
  const r = loadScenario('traffic:\n  - kind: capture\n    file: caps/one.pcap\n', join(sub, 's.yaml'), REG);
  t.true(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
  if (r.ok) t.is(JSON.parse(JSON.stringify(r.scenario)).traffic[0].file, join(sub, 'caps', 'one.pcap'));
  const o = loadScenario('traffic:\n  - kind: capture\n    file: caps/one.pcap\n', join(sub, 's.yaml'), REG, ['traffic[0].file=caps/one.pcap']);
  t.false(o.ok, 'relative to the current directory, where caps/ does not exist');
});

test('the example scenarios validate', (t) => {
  for (const name of ['mixed', 'syn-flood-vs-web', 'dns-under-load', 'idle-nat-flows']) {
    const path = new URL(`../../../scenarios/${name}.yaml`, import.meta.url);
    const r = loadScenario(readFileSync(path, 'utf8'), `${name}.yaml`, REG);
    t.true(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
  }
});
