/**
 * natLookup semantics (docs/rules.md §3): chain order by priority then declaration, rule order,
 * accept/return ending a chain, counters, implicit protocol and family dependencies, negation,
 * interface matches through the route table; and a property test against a naive matcher.
 */
import test from 'ava';
import fc from 'fast-check';
import { AddrInterner, parseIPv4 } from '../conntrack/addr.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../conntrack/constants.js';
import { Pkt } from '../conntrack/packet.js';
import { buildRoutes, loadRuleset, type RouteTable } from './index.js';

const routes = (entries: { prefix: string; iface: string; addr?: string }[]): RouteTable => {
  const r = buildRoutes(entries);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('; '));
  return r.routes;
};
const GW = routes([
  { prefix: '10.0.0.0/8', iface: 'lan0' },
  { prefix: '10.9.0.0/16', iface: 'lan9' },
  { prefix: '0.0.0.0/0', iface: 'wan0', addr: '203.0.113.1' },
  { prefix: '2001:db8::/32', iface: 'lan6' },
  { prefix: '::/0', iface: 'wan0' },
]);

function pkt(src: string, dst: string, proto = IPPROTO_UDP, dport = 53, sport = 40000): Pkt {
  const p = new Pkt();
  p.l3 = 4; p.proto = proto; p.src = parseIPv4(src); p.dst = parseIPv4(dst); p.sport = sport; p.dport = dport; p.len = 100;
  return p;
}
/** natLookup with interfaces taken from the routes, as the packet path does. */
const lookup = (rs: ReturnType<typeof loadRuleset>, hook: 'prerouting' | 'postrouting', p: Pkt): number =>
  rs.natLookup(hook, p, GW.ifaceOf(p.l3, p.src), GW.ifaceOf(p.l3, p.dst));

test('chains at a hook run in priority order; of equal priorities the last declared runs first (nf_hook_entries_grow inserts before equals)', (t) => {
  const rs = loadRuleset(`
table ip a {
  chain late { type nat hook postrouting priority srcnat + 10; snat to 198.51.100.3 }
  chain early { type nat hook postrouting priority srcnat - 10; ip daddr 8.8.8.8 snat to 198.51.100.1 }
}
table ip b {
  chain mid1 { type nat hook postrouting priority 100; ip daddr 8.8.4.4 snat to 198.51.100.2 }
  chain mid2 { type nat hook postrouting priority 100; ip daddr 8.8.4.4 snat to 198.51.100.4 }
}`, 'o.nft', GW);
  t.deepEqual(rs.natChainOrder('postrouting'), ['a/early', 'b/mid2', 'b/mid1', 'a/late']);
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '8.8.8.8')), 1); // early, although declared second
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '8.8.4.4')), 3); // mid2 (declared after mid1, same priority) runs first
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '1.1.1.1')), 0); // falls through to late
  t.is(rs.natLookup('prerouting', pkt('10.0.0.1', '1.1.1.1'), 0, 2), -1); // no chain at prerouting
});

test('first matching rule wins; accept ends its chain but the next chain runs; return ends the base chain', (t) => {
  const rs = loadRuleset(`
table ip nat {
  chain one {
    type nat hook postrouting priority srcnat;
    ip saddr 10.1.0.0/16 accept
    ip saddr 10.2.0.0/16 return
    counter
    ip saddr 10.0.0.0/8 snat to 198.51.100.1
    ip saddr 10.0.0.0/8 snat to 198.51.100.2
  }
  chain two {
    type nat hook postrouting priority srcnat + 1;
    snat to 198.51.100.9
  }
}`, 'o.nft', GW);
  t.is(lookup(rs, 'postrouting', pkt('10.3.0.1', '8.8.8.8')), 3); // counter rule continues, first snat wins
  t.is(lookup(rs, 'postrouting', pkt('10.1.0.1', '8.8.8.8')), 5); // accept: chain two still runs
  t.is(lookup(rs, 'postrouting', pkt('10.2.0.1', '8.8.8.8')), 5); // return: policy accept, chain two runs
  // counters: every rule evaluated as matching counts the packet and its bytes
  t.deepEqual([...rs.packets], [1, 1, 1, 1, 0, 2]);
  t.deepEqual([...rs.bytes], [100, 100, 100, 100, 0, 200]);
  const fresh = rs.clone();
  t.deepEqual([...fresh.packets], [0, 0, 0, 0, 0, 0]);
  t.is(lookup(fresh, 'postrouting', pkt('10.3.0.1', '8.8.8.8')), 3);
  t.deepEqual([...rs.packets], [1, 1, 1, 1, 0, 2]); // the original's counters did not move
});

test('tcp/udp port matches carry their protocol dependency, also when negated (nft adds meta l4proto)', (t) => {
  const rs = loadRuleset(`table ip nat { chain c { type nat hook prerouting priority dstnat
    tcp dport != 22 dnat to 10.0.0.5
    udp dport { 53, 5353 } dnat to 10.0.0.6
    meta l4proto icmp dnat to 10.0.0.7
  } }`, 'p.nft', GW);
  t.is(lookup(rs, 'prerouting', pkt('8.8.8.8', '203.0.113.1', IPPROTO_TCP, 80)), 0);
  t.is(lookup(rs, 'prerouting', pkt('8.8.8.8', '203.0.113.1', IPPROTO_TCP, 22)), -1);
  t.is(lookup(rs, 'prerouting', pkt('8.8.8.8', '203.0.113.1', IPPROTO_UDP, 80)), -1); // not tcp: rule 0 does not match
  t.is(lookup(rs, 'prerouting', pkt('8.8.8.8', '203.0.113.1', IPPROTO_UDP, 5353)), 1);
  t.is(lookup(rs, 'prerouting', pkt('8.8.8.8', '203.0.113.1', IPPROTO_ICMP, 0x0800)), 2);
});

test('address matches: prefix, range, set, negation; unsigned comparison of high addresses', (t) => {
  const rs = loadRuleset(`table ip nat { chain c { type nat hook postrouting priority srcnat
    ip daddr 240.0.0.0-255.255.255.254 snat to 198.51.100.1
    ip saddr != { 10.0.0.0/16, 10.5.0.0/16 } snat to 198.51.100.2
    ip protocol udp snat to 198.51.100.3
  } }`, 'a.nft', GW);
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '250.1.1.1')), 0);
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '255.255.255.255')), 2); // just past the range
  t.is(lookup(rs, 'postrouting', pkt('10.1.0.1', '8.8.8.8')), 1);
  t.is(lookup(rs, 'postrouting', pkt('10.5.255.255', '8.8.8.8')), 2);
  t.is(lookup(rs, 'postrouting', pkt('10.5.255.255', '8.8.8.8', IPPROTO_TCP)), -1);
});

test('interface matches use the routes: iif by source, oif by destination, longest prefix', (t) => {
  const rs = loadRuleset(`table ip nat { chain c { type nat hook postrouting priority srcnat
    iifname "lan9" oifname "wan0" snat to 198.51.100.9
    iif lan0 oif wan0 masquerade
    oifname != "wan*" snat to 198.51.100.1
  } }`, 'i.nft', GW);
  t.is(lookup(rs, 'postrouting', pkt('10.9.1.1', '8.8.8.8')), 0); // 10.9/16 is longer than 10/8: lan9
  t.is(lookup(rs, 'postrouting', pkt('10.8.1.1', '8.8.8.8')), 1);
  t.is(lookup(rs, 'postrouting', pkt('8.8.4.4', '10.8.1.1')), 2); // wan0 → lan0
  t.is(lookup(rs, 'postrouting', pkt('8.8.4.4', '8.8.8.8')), -1);
  // no device (-1): its name is "" (nft_meta stores an empty name), so != "wan*" holds and oif never equals wan0
  t.is(rs.natLookup('postrouting', pkt('8.8.4.4', '8.8.8.8'), 2, -1), 2);
});

test('families: an ip table sees only IPv4, ip6 matches only IPv6 (with the interner), inet both', (t) => {
  const interner = new AddrInterner();
  const a = interner.internText('2001:db8::10'), b = interner.internText('2001:db8:1::1'), c = interner.internText('2a00::1');
  const rs = loadRuleset(`
table ip v4 { chain c { type nat hook postrouting priority srcnat; snat to 198.51.100.1 } }
table inet any { chain c { type nat hook postrouting priority srcnat + 1
  ip6 saddr 2001:db8::/48 snat ip6 to 2001:db8:ffff::1
  ip6 saddr 2001:db8:1::/48 oifname "wan0" masquerade
} }`, 'f.nft', GW);
  rs.bindInterner(interner);
  GW.bindInterner(interner);
  const p6 = (src: number, dst: number): Pkt => { const p = pkt('0.0.0.0', '0.0.0.0'); p.l3 = 6; p.src = src; p.dst = dst; return p; };
  t.is(lookup(rs, 'postrouting', pkt('10.0.0.1', '8.8.8.8')), 0);
  t.is(lookup(rs, 'postrouting', p6(a, c)), 1);
  t.is(lookup(rs, 'postrouting', p6(b, c)), 2);
  t.is(lookup(rs, 'postrouting', p6(c, a)), -1);
  t.is(rs.rules[1].nat!.l3, 6);
  t.is(rs.natAddr6Id(1), interner.find(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])));
  t.true(rs.natAddr6Id(1) > 0);
  t.is(rs.natAddr6Id(0), -1); // IPv4 statement
  t.is(rs.natAddr6Id(2), -1); // masquerade: no address in the rule
  t.is(GW.ifaceOf(6, a), GW.find('lan6'));
  t.is(GW.ifaceOf(6, c), GW.find('wan0'));
});

// ---- property: natLookup agrees with a naive reference matcher ----

/** A rule described as data; rendered to nft text and evaluated by `refMatch` independently of the compiler. */
interface Spec {
  saddr?: { neg: boolean; nets: [number, number][] }; // [address (uint32), prefix length]
  daddr?: { neg: boolean; lo: number; hi: number };
  l4?: { proto: 'tcp' | 'udp'; neg: boolean; ports: [number, number][] };
  l4proto?: { neg: boolean; protos: number[] };
  oifname?: { neg: boolean; names: string[] };
  verdict: 'snat' | 'accept' | 'return' | 'none';
}
interface ChainSpec { prio: number; rules: Spec[] }

const POOL = ['10.0.0.1', '10.0.0.200', '10.1.2.3', '10.9.0.7', '192.168.1.1', '8.8.8.8', '203.0.113.77', '255.255.255.255', '0.0.0.1'].map((s) => parseIPv4(s) >>> 0);
const IFNAMES = ['lan0', 'lan9', 'wan0', 'wan*', 'lan*'];
const addr = fc.oneof(fc.constantFrom(...POOL), fc.integer({ min: 0, max: 0xffffffff }));
const fmt = (u: number): string => `${u >>> 24}.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}`;
const specArb: fc.Arbitrary<Spec> = fc.record({
  saddr: fc.option(fc.record({ neg: fc.boolean(), nets: fc.array(fc.tuple(fc.constantFrom(...POOL), fc.integer({ min: 0, max: 32 })), { minLength: 1, maxLength: 3 }) }), { nil: undefined }),
  daddr: fc.option(fc.tuple(fc.boolean(), addr, addr).map(([neg, a, b]) => ({ neg, lo: Math.min(a, b), hi: Math.max(a, b) })), { nil: undefined }),
  l4: fc.option(fc.record({ proto: fc.constantFrom('tcp' as const, 'udp' as const), neg: fc.boolean(), ports: fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]), { minLength: 1, maxLength: 3 }) }), { nil: undefined }),
  l4proto: fc.option(fc.record({ neg: fc.boolean(), protos: fc.array(fc.constantFrom(1, 6, 17), { minLength: 1, maxLength: 2 }) }), { nil: undefined }),
  oifname: fc.option(fc.record({ neg: fc.boolean(), names: fc.array(fc.constantFrom(...IFNAMES), { minLength: 1, maxLength: 2 }) }), { nil: undefined }),
  verdict: fc.constantFrom('snat' as const, 'accept' as const, 'return' as const, 'none' as const),
}, { requiredKeys: ['verdict'] }).map((s) => {
  // a positive l4proto set that excludes the port match's protocol is refused at load (no packet could match)
  if (s.l4 && s.l4proto && !s.l4proto.neg) {
    const p = s.l4.proto === 'tcp' ? 6 : 17;
    if (!s.l4proto.protos.includes(p)) return { ...s, l4proto: { ...s.l4proto, protos: [...s.l4proto.protos, p] } };
  }
  return s;
});

function render(s: Spec): string {
  const parts: string[] = [];
  const set = (xs: string[]): string => (xs.length === 1 ? xs[0] : `{ ${xs.join(', ')} }`);
  const op = (neg: boolean): string => (neg ? '!= ' : '');
  if (s.saddr) parts.push(`ip saddr ${op(s.saddr.neg)}${set(s.saddr.nets.map(([a, l]) => `${fmt(a)}/${l}`))}`);
  if (s.daddr) parts.push(`ip daddr ${op(s.daddr.neg)}${fmt(s.daddr.lo)}-${fmt(s.daddr.hi)}`);
  if (s.l4proto) parts.push(`meta l4proto ${op(s.l4proto.neg)}${set(s.l4proto.protos.map(String))}`);
  if (s.l4) parts.push(`${s.l4.proto} dport ${op(s.l4.neg)}${set(s.l4.ports.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)))}`);
  if (s.oifname) parts.push(`oifname ${op(s.oifname.neg)}${set(s.oifname.names.map((n) => `"${n}"`))}`);
  if (s.verdict === 'snat') parts.push('snat to 198.51.100.1');
  else if (s.verdict !== 'none') parts.push(s.verdict);
  else parts.push('counter');
  return parts.join(' ');
}

/** The obvious reading of each match, written from the nft documentation, not from the compiler. */
function refMatch(s: Spec, src: number, dst: number, proto: number, dport: number, oifName: string): boolean {
  const inPrefix = (a: number, net: number, len: number): boolean => len === 0 || Math.floor(a / 2 ** (32 - len)) === Math.floor(net / 2 ** (32 - len));
  if (s.saddr && s.saddr.nets.some(([n, l]) => inPrefix(src, n, l)) === s.saddr.neg) return false;
  if (s.daddr && (dst >= s.daddr.lo && dst <= s.daddr.hi) === s.daddr.neg) return false;
  if (s.l4proto && s.l4proto.protos.includes(proto) === s.l4proto.neg) return false;
  if (s.l4) {
    if (proto !== (s.l4.proto === 'tcp' ? 6 : 17)) return false;
    if (s.l4.ports.some(([a, b]) => dport >= a && dport <= b) === s.l4.neg) return false;
  }
  if (s.oifname && s.oifname.names.some((n) => (n.endsWith('*') ? oifName.startsWith(n.slice(0, -1)) : oifName === n)) === s.oifname.neg) return false;
  return true;
}

function refLookup(chains: ChainSpec[], src: number, dst: number, proto: number, dport: number, oifName: string): number {
  const ids: number[][] = [];
  let next = 0;
  for (const c of chains) ids.push(c.rules.map(() => next++));
  // equal priorities: the chain declared last runs first (core.c: nf_hook_entries_grow())
  const order = chains.map((c, i) => ({ c, i })).sort((a, b) => a.c.prio - b.c.prio || b.i - a.i);
  for (const { c, i } of order) {
    for (let k = 0; k < c.rules.length; k++) {
      const s = c.rules[k];
      if (!refMatch(s, src, dst, proto, dport, oifName)) continue;
      if (s.verdict === 'snat') return ids[i][k];
      if (s.verdict !== 'none') break;
    }
  }
  return -1;
}

test('property: natLookup returns what a naive matcher over the same rules returns', (t) => {
  const chainArb = fc.record({ prio: fc.integer({ min: -150, max: 150 }), rules: fc.array(specArb, { minLength: 1, maxLength: 4 }) });
  const pktArb = fc.record({ src: addr, dst: addr, proto: fc.constantFrom(1, 6, 17, 47), dport: fc.integer({ min: 0, max: 110 }) });
  fc.assert(fc.property(fc.array(chainArb, { minLength: 1, maxLength: 3 }), fc.array(pktArb, { minLength: 1, maxLength: 20 }), (chains, pkts) => {
    const text = chains.map((c, i) => `table ip t${i} {\n chain c {\n  type nat hook postrouting priority ${c.prio}\n${c.rules.map((r) => `  ${render(r)}\n`).join('')} }\n}\n`).join('');
    const rs = loadRuleset(text, 'prop.nft', GW);
    const p = new Pkt();
    for (const x of pkts) {
      p.l3 = 4; p.src = x.src | 0; p.dst = x.dst | 0; p.proto = x.proto; p.dport = x.dport; p.sport = 1; p.len = 1;
      const oif = GW.ifaceOf(4, p.dst);
      const got = rs.natLookup('postrouting', p, GW.ifaceOf(4, p.src), oif);
      const want = refLookup(chains, x.src, x.dst, x.proto, x.dport, GW.name(oif));
      if (got !== want) return false;
    }
    return true;
  }), { numRuns: 300, seed: 12 });
  t.pass();
});
