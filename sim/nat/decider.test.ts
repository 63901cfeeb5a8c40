import test from 'ava';
import { NF_ACCEPT, NF_DROP } from '../conntrack/conntrack.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { AddrInterner, parseIPv6 } from '../conntrack/addr.js';
import { ip, send, udp } from '../conntrack/testing.js';
import { RngStreams } from '../core/rng.js';
import { buildRoutes, loadRuleset, parseRouteArg, type RouteEntry } from '../rules/index.js';
import { setupNat } from './setup.js';

function gateway(rules: string, routeArgs: string[], version = '6.12') {
  const built = buildRoutes(routeArgs.map((a) => parseRouteArg(a) as RouteEntry));
  if (!built.ok) throw new Error(JSON.stringify(built.issues));
  const ruleset = loadRuleset(rules, 'test.nft', built.routes);
  const ct = createConntrack({ version, seed: 3, sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 } });
  const nat = setupNat(ct, { version: [6, 12], ruleset, routes: built.routes }, new RngStreams(3, 0))!;
  return { ct, nat };
}

const table = (body: string) => `table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  ${body}\n }\n}\n`;

test('masquerade takes the outgoing interface\'s address; other interfaces are not translated (docs/nat.md §4)', (t) => {
  const { ct, nat } = gateway(table('oifname "wan0" masquerade'), ['10.0.0.0/8=lan0@10.0.0.1', '0.0.0.0/0=wan0@203.0.113.1', '192.168.0.0/16=dmz0@192.168.0.1']);
  const pkt = new Pkt();
  send(ct, 0, udp(pkt, ip(10, 0, 0, 5), 40000, ip(198, 51, 100, 7), 53));
  t.is(pkt.src, ip(203, 0, 113, 1));
  t.is(pkt.sport, 40000);
  send(ct, 0, udp(pkt, ip(10, 0, 0, 5), 40001, ip(192, 168, 3, 3), 53));
  t.is(pkt.src, ip(10, 0, 0, 5), 'leaves by dmz0: null binding only');
  t.is(nat.rules[0]!.mappings, 1);
  t.is(nat.counters.null_bindings, 2 + 1, 'DST null bindings for both, SRC null binding for the second');
});

test('masquerade through an interface without an address drops the packet (docs/nat.md §4)', (t) => {
  let g: ReturnType<typeof gateway>;
  try {
    g = gateway(table('masquerade'), ['10.0.0.0/8=lan0@10.0.0.1', '0.0.0.0/0=wan0']);
  } catch (e) {
    // the rules loader may already refuse a masquerade that can leave by an interface without an address
    t.regex(String(e), /address/);
    return;
  }
  t.is(send(g.ct, 0, udp(new Pkt(), ip(10, 0, 0, 5), 40000, ip(198, 51, 100, 7), 53)), NF_DROP);
});

test('snat to an address range picks the address by hash of (source, destination) (docs/nat.md §2.4)', (t) => {
  const { ct } = gateway(table('oifname "wan0" snat to 203.0.113.1-203.0.113.8'), ['10.0.0.0/8=lan0', '0.0.0.0/0=wan0']);
  const pkt = new Pkt();
  t.is(send(ct, 0, udp(pkt, ip(10, 0, 0, 5), 40000, ip(1, 2, 3, 4), 53)), NF_ACCEPT);
  // expected from an independent lookup3 implementation (see nat.test.ts)
  t.is(pkt.src, ip(203, 0, 113, 4));
});

test('dnat to numgen random picks an endpoint per packet from the run\'s draws (docs/nat.md §1.8, §3.3)', (t) => {
  const rules = 'table ip nat {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  udp dport 53 dnat to numgen random mod 2 map { 0 : 10.244.1.10, 1 : 10.244.2.10 }\n }\n}\n';
  const { ct } = gateway(rules, ['10.0.0.0/8=lan0']);
  const pkt = new Pkt();
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    send(ct, i, udp(pkt, ip(10, 0, 1, i), 40000, ip(10, 96, 0, 10), 53));
    seen.add(pkt.dst);
  }
  t.deepEqual([...seen].sort(), [ip(10, 244, 1, 10), ip(10, 244, 2, 10)].sort());
});

test('IPv6: snat to one address maps to its interned id once an interner is bound (docs/nat.md §2.4)', (t) => {
  const built = buildRoutes(['fd00::/64=lan0', '::/0=wan0'].map((a) => parseRouteArg(a) as RouteEntry));
  if (!built.ok) throw new Error('routes');
  const rules = 'table ip6 nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "wan0" snat to 2001:db8::1\n }\n}\n';
  const ruleset = loadRuleset(rules, 'v6.nft', built.routes);
  const ct = createConntrack({ seed: 3, sysctl: { nf_conntrack_max: 4096, nf_conntrack_buckets: 1024 } });
  const interner = new AddrInterner();
  setupNat(ct, { version: [6, 12], ruleset, routes: built.routes, interner }, new RngStreams(3, 0));
  const pkt = udp(new Pkt(), interner.intern(parseIPv6('fd00::5')), 40000, interner.intern(parseIPv6('2001:db8:1::53')), 53);
  pkt.l3 = 6;
  t.is(send(ct, 0, pkt), NF_ACCEPT);
  t.is(pkt.src, interner.intern(parseIPv6('2001:db8::1')));
  t.is(pkt.sport, 40000);
});
