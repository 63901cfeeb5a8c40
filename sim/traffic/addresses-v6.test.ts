import test from 'ava';
import { AddrInterner, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../conntrack/addr.js';
import { forEachLiveEntry, listEntries, summariseStates } from '../conntrack/listing.js';
import { Rng } from '../core/rng.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/scenario.js';
import { distinctHosts, parsePrefix, SourcePicker, type Prefix } from './addresses.js';
import { Harness } from './harness.js';
import { REGISTRIES } from '../io/scenario-files.js';
import { Simulation } from '../run/simulation.js';
import { runSummary } from '../run/summary.js';

function loadScenarioText(text: string, file: string): Scenario {
  const r = loadScenario(text, file, REGISTRIES);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.scenario;
}

const ten = { rate: { shape: 'constant', rate: 10 }, stop: '1s' };

function run(kind: string, params: Record<string, unknown>, untilS = 8) {
  const h = new Harness({ memory: 1 << 30, endUs: 600e6 });
  const g = h.add(kind, params);
  h.run(untilS * 1e6);
  return { h, g, states: summariseStates(h.ct) };
}

/** Every live entry's original-direction addresses, as text, with its l3 number. */
function addresses(h: Harness): { l3: number; src: string; dst: string }[] {
  const out: { l3: number; src: string; dst: string }[] = [];
  forEachLiveEntry(h.ct, (slot) => {
    const tb = h.ct.table;
    const l3 = tb.l3protoOf(slot) >> 8;
    out.push({ l3, src: h.addrs.format(l3, tb.srcOf(slot)), dst: h.addrs.format(l3, tb.dstOf(slot)) });
  });
  return out;
}

/** Whether an IPv6 address (text) lies inside prefix/len, computed bitwise from the text. */
function inside6(addr: string, prefix: string, len: number): boolean {
  const a = parseIPv6(addr), p = parseIPv6(prefix);
  for (let bit = 0; bit < len; bit++) {
    const i = bit >> 3, m = 0x80 >> (bit & 7);
    if ((a[i]! & m) !== (p[i]! & m)) return false;
  }
  return true;
}

test('parsePrefix: IPv6 prefixes and addresses; host bits cleared; sizes capped at 2^53', (t) => {
  const p = parsePrefix('2001:db8::ff/120') as Prefix;
  t.is(formatIPv6(p.v6!.bytes), '2001:db8::');
  t.is(p.v6!.len, 120);
  t.is(p.size, 256);
  t.is((parsePrefix('2001:db8::1') as Prefix).size, 1);
  t.is((parsePrefix('2001:db8::/64') as Prefix).size, 2 ** 53);
  t.regex(parsePrefix('2001:db8::/129') as string, /IPv6 prefix length must be 0\.\.128, got 129/);
  t.regex(parsePrefix('2001:db8:::1/64') as string, /bad IPv6 address/);
  t.regex(parsePrefix('10.0.0.0/33') as string, /IPv4 prefix length must be 0\.\.32/);
  // IPv4 unchanged
  t.deepEqual(parsePrefix('10.1.2.3/16'), { base: parseIPv4('10.1.0.0'), size: 65536 });
});

test('a count gives that many distinct addresses, all inside the prefix (IPv4 and IPv6)', (t) => {
  const ids = new AddrInterner();
  const v4 = new SourcePicker({ kind: 'hosts', count: 500, within: parsePrefix('10.0.0.0/23') as Prefix }, new Rng('t/4'), ids);
  const h4 = [...v4.hostSet!].map(formatIPv4);
  t.is(new Set(h4).size, 500);
  for (const a of h4) t.regex(a, /^10\.0\.[01]\.\d+$/);
  // 500 of 512: the partial shuffle must not repeat even when nearly full
  const full = distinctHosts(512, 512, new Rng('t/full'));
  t.deepEqual([...full].sort((a, b) => a - b), Array.from({ length: 512 }, (_, i) => i));
  const v6 = new SourcePicker({ kind: 'hosts', count: 300, within: parsePrefix('2001:db8:1::/64') as Prefix }, new Rng('t/6'), ids);
  const h6 = [...v6.hostSet!].map((id) => ids.format(6, id));
  t.is(new Set(h6).size, 300);
  for (const a of h6) t.true(inside6(a, '2001:db8:1::', 64), a);
  // draws pick only those hosts
  const r = new Rng('t/draw');
  for (let i = 0; i < 200; i++) t.true(h6.includes(ids.format(6, v6.next(r))));
});

test('IPv6 TCP clients: handshakes complete, entries ESTABLISHED/ASSURED with IPv6 tuples inside the prefixes', (t) => {
  const { h, g, states } = run('tcp-clients', { ...ten, clients: '2001:db8:10::/48', server: '2001:db8::443', hold: 100 }, 5);
  t.like(g.outcomes, { started: 10, failed: 0 });
  t.deepEqual(states, { 'tcp ESTABLISHED ASSURED': 10 });
  for (const e of addresses(h)) {
    t.is(e.l3, 6);
    t.true(inside6(e.src, '2001:db8:10::', 48), e.src);
    t.is(e.dst, '2001:db8::443');
  }
  t.regex(listEntries(h.ct, h.addrs)[0]!, /^tcp .* src=2001:db8:10:\S+ dst=2001:db8::443 /);
});

test('IPv6 UDP queries are replied; ICMPv6 echo replied; ICMPv6 errors RELATED to the probe', (t) => {
  const u = run('udp-request-response', { ...ten, clients: { count: 5, within: '2001:db8:2::/64' }, server: '2001:db8::53' });
  t.deepEqual(u.states, { 'udp -': 10 });
  t.like(u.g.outcomes, { succeeded: 10 });
  t.true(new Set(addresses(u.h).map((e) => e.src)).size <= 5);
  const e = run('icmp', { ...ten, clients: '2001:db8:4::/64', server: '2001:db8::30' });
  t.deepEqual(e.states, { 'icmpv6 -': 10 });
  t.like(e.g.outcomes, { succeeded: 10, packets: 80, broken: 0 });
  for (const mode of ['unreachable', 'time-exceeded']) {
    const r = run('icmp', { ...ten, mode, clients: '2001:db8:4::/64', server: '2001:db8::30', router: '2001:db8:ffff::1' });
    t.is(r.h.ct.stats.related, 10, mode);
    t.like(r.g.outcomes, { succeeded: 10, broken: 0 });
  }
});

test('IPv6 SYN flood from a count of sources and a port scan fill the table with IPv6 entries', (t) => {
  const s = run('syn-flood', { ...ten, sources: { count: 50, within: '2001:db8:bad::/48' }, target: '2001:db8::10' }, 2);
  const srcs = new Set(addresses(s.h).map((e) => e.src));
  t.true(srcs.size <= 50 && srcs.size > 1);
  t.deepEqual(s.states, { 'tcp SYN_SENT UNREPLIED': 10 });
  for (const e of addresses(s.h)) t.is(e.l3, 6);
  const p = run('port-scan', { ...ten, source: '2001:db8:66::1', target: '2001:db8::10', ports: '1-100', open: 80 }, 2);
  t.true(p.g.outcomes.started === 10);
  for (const e of addresses(p.h)) { t.is(e.l3, 6); t.is(e.src, '2001:db8:66::1'); }
});

const MIXED = `
name: mixed46
duration: 20s
sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 }
traffic:
  - { kind: tcp-clients, label: web4, rate: 20, clients: 200 }
  - { kind: tcp-clients, label: web6, rate: 20, clients: { count: 200, within: "2001:db8:1::/64" }, server: "2001:db8::10" }
  - { kind: udp-request-response, label: dns6, rate: 20, clients: "2001:db8:2::/64", server: "2001:db8::53" }
  - { kind: syn-flood, label: flood6, rate: 100, sources: "2001:db8:bad::/48", target: "2001:db8::10", start: 5s, stop: 10s }
`;

test('a mixed IPv4/IPv6 scenario runs; both families succeed; deterministic; adding IPv6 generators leaves IPv4 draws alone', (t) => {
  const sc = loadScenarioText(MIXED, 'mixed46.yaml');
  const a = new Simulation(sc, 0, REGISTRIES); a.runToEnd();
  const b = new Simulation(sc, 0, REGISTRIES); b.runToEnd();
  t.is(a.fingerprint, b.fingerprint);
  const s = runSummary(a);
  for (const l of ['web4', 'web6', 'dns6']) {
    const g = s.generators.find((x) => x.label === l)!;
    t.true(g.succeeded > 0 && g.succeeded >= g.started * 0.5, l);
  }
  // web4's addresses: the same whether or not the IPv6 generators are there (labelled streams)
  const only4 = loadScenarioText(MIXED.split('\n').filter((l) => !/web6|dns6|flood6/.test(l)).join('\n'), 'only4.yaml');
  const c = new Simulation(only4, 0, REGISTRIES); c.runToEnd();
  const web4 = (sim: Simulation) => { const out: number[] = []; forEachLiveEntry(sim.ct, (slot) => { if (sim.ct.table.l3protoOf(slot) >> 8 === 4) out.push(sim.ct.table.srcOf(slot)); }); return out.sort(); };
  t.true(web4(a).length > 0);
  t.true(web4(c).every((x) => x >= parseIPv4('10.1.0.0') && x < parseIPv4('10.2.0.0')));
  // no drops in either run: web4's live entries are the same flows
  t.is(a.ct.stats.drop, 0);
  t.deepEqual(web4(a), web4(c));
  t.true(200 >= new Set(web4(a)).size);
});

test('bad addresses and counts are reported with file, line and path', (t) => {
  const bad = (traffic: string): string => {
    const e = t.throws(() => loadScenarioText(`name: bad\ntraffic:\n${traffic}\n`, 'bad.yaml'));
    return e.message;
  };
  t.regex(bad('  - { kind: tcp-clients, rate: 1, clients: "2001:db8::/129" }'), /bad\.yaml:3.*traffic\[0\]\.clients: IPv6 prefix length must be 0\.\.128, got 129/);
  t.regex(bad('  - { kind: tcp-clients, rate: 1, clients: { count: 300, within: 10.0.0.0/24 } }'), /bad\.yaml:3.*traffic\[0\]\.clients\.count: 300 distinct hosts do not fit in 10\.0\.0\.0\/24 \(256 addresses\)/);
  t.regex(bad('  - { kind: tcp-clients, rate: 1, clients: 0 }'), /traffic\[0\]\.clients: expected an integer in 1\.\.16777216, got 0/);
  t.regex(bad('  - { kind: tcp-clients, rate: 1, clients: 2.5 }'), /traffic\[0\]\.clients: expected an integer/);
  t.regex(bad('  - { kind: tcp-clients, rate: 1, clients: "2001:db8::/64" }'), /traffic\[0\]\.server: IPv4 address, but clients is IPv6: a generator's addresses must be of one family/);
  t.regex(bad('  - { kind: syn-flood, rate: 1, sources: ["10.0.0.0/8", "2001:db8::/32"] }'), /traffic\[0\]\.sources\[1\]: IPv6 entry in a list of IPv4 addresses/);
  t.regex(bad('  - { kind: icmp, mode: time-exceeded, rate: 1, clients: "2001:db8::/64", server: "2001:db8::1" }'), /traffic\[0\]\.router: IPv4 address, but clients is IPv6/);
  t.regex(bad('  - { kind: syn-flood, rate: 1, sources: 50, target: "2001:db8::1" }'), /traffic\[0\]\.target: IPv6 address, but sources is IPv4: .*a count's `within`/);
});
