/**
 * Parser cases of the nft subset (docs/rules.md §1, §2, §4): each statement, each match, sets,
 * define, priorities, comments and separators; errors with exact line:column.
 */
import test from 'ava';
import { parseIPv4 } from '../conntrack/addr.js';
import { buildRoutes, loadRuleset, type LoadedRuleset, type RouteTable } from './index.js';
import {
  NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PERSISTENT, NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY, NF_NAT_RANGE_PROTO_SPECIFIED,
  type NatStatement,
} from './types.js';

const ROUTES: RouteTable = (() => {
  const r = buildRoutes([
    { prefix: '10.0.0.0/8', iface: 'lan0' },
    { prefix: '192.168.0.0/16', iface: 'lan1', addr: '192.168.0.1' },
    { prefix: '0.0.0.0/0', iface: 'wan0', addr: '203.0.113.1' },
  ]);
  if (!r.ok) throw new Error('test routes');
  return r.routes;
})();

/** A ruleset with one postrouting (or other hook) nat chain holding `rules`. */
function chain(rules: string, hook = 'postrouting', prio = hook === 'prerouting' || hook === 'output' ? 'dstnat' : 'srcnat', family = 'ip'): string {
  return `table ${family} nat {\n  chain c {\n    type nat hook ${hook} priority ${prio};\n    ${rules}\n  }\n}\n`;
}
/** `routes` null: no route table. */
const load = (text: string, routes: RouteTable | null = ROUTES): LoadedRuleset => loadRuleset(text, 'r.nft', routes ?? undefined);
const nat = (rule: string, hook?: string, family?: string): NatStatement => {
  const rs = load(chain(rule, hook, undefined, family));
  const n = rs.rules[0]?.nat;
  if (n === undefined) throw new Error('no nat statement');
  return n;
};
const ip = (s: string): number => parseIPv4(s);
/** The error message of loading `text`, or 'no error'. */
const error = (text: string, routes: RouteTable | null = ROUTES): string => {
  try { load(text, routes); return 'no error'; } catch (e) { return (e as Error).message; }
};

// ---- statements (docs/rules.md §4) ----

test('snat to ADDR: MAP_IPS, min = max, no ports (nft_nat.c: address given → NF_NAT_RANGE_MAP_IPS)', (t) => {
  t.deepEqual(nat('snat to 203.0.113.5'), { kind: 'snat', l3: 4, flags: NF_NAT_RANGE_MAP_IPS, minAddr: ip('203.0.113.5'), maxAddr: ip('203.0.113.5'), minPort: 0, maxPort: 0 });
});

test('snat to ADDR-ADDR:PORT-PORT with flags: MAP_IPS | PROTO_SPECIFIED | each flag bit', (t) => {
  const n = nat('meta l4proto { tcp, udp } snat to 203.0.113.5-203.0.113.9:1024-2047 random,fully-random,persistent');
  t.is(n.flags, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED | NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY | NF_NAT_RANGE_PERSISTENT);
  t.is(n.flags, 1 | 2 | 4 | 16 | 8);
  t.is(n.minAddr, ip('203.0.113.5'));
  t.is(n.maxAddr, ip('203.0.113.9'));
  t.is(n.minPort, 1024);
  t.is(n.maxPort, 2047);
});

test('snat to a prefix is the range of its addresses; high addresses keep their int32 bits', (t) => {
  const n = nat('snat to 198.51.100.0/30');
  t.is(n.minAddr, ip('198.51.100.0'));
  t.is(n.maxAddr, ip('198.51.100.3'));
  const hi = nat('snat to 240.0.0.1');
  t.is(hi.minAddr, 0xf0000001 | 0);
  t.true(hi.minAddr < 0); // int32 with the wire bits; compare unsigned
});

test('port-only snat lacks MAP_IPS; a single port is min = max', (t) => {
  t.deepEqual(nat('udp dport 53 snat to :5000'), { kind: 'snat', l3: 4, flags: NF_NAT_RANGE_PROTO_SPECIFIED, minAddr: 0, maxAddr: 0, minPort: 5000, maxPort: 5000 });
  t.is(nat('tcp dport 80 snat to 10.0.0.1 :81').minPort, 81); // ADDR :PORT written with a space
});

test('snat without "to", and the explicit ip family', (t) => {
  t.is(nat('snat 203.0.113.7').minAddr, ip('203.0.113.7'));
  t.is(nat('snat ip to 203.0.113.7').minAddr, ip('203.0.113.7'));
});

test('dnat to ADDR:PORT, and IPv6 [ADDR]:PORT in an ip6 table', (t) => {
  t.deepEqual(nat('tcp dport 8080 dnat to 10.0.0.5:80', 'prerouting'), { kind: 'dnat', l3: 4, flags: 3, minAddr: ip('10.0.0.5'), maxAddr: ip('10.0.0.5'), minPort: 80, maxPort: 80 });
  const n6 = nat('tcp dport 8080 dnat to [2001:db8::5]:80', 'prerouting', 'ip6');
  t.is(n6.l3, 6);
  t.is(n6.flags, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
  t.deepEqual([...n6.minAddr6!], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
  t.is(n6.minPort, 80);
  const r6 = nat('dnat to 2001:db8::1-2001:db8::4', 'prerouting', 'ip6');
  t.is(r6.maxAddr6![15], 4);
});

test('masquerade: no address (no MAP_IPS), optional ports and flags', (t) => {
  t.deepEqual(nat('oifname "wan0" masquerade'), { kind: 'masquerade', l3: 4, flags: 0, minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 });
  const n = nat('oif wan0 meta l4proto udp masquerade to :1024-65535 fully-random');
  t.is(n.flags, NF_NAT_RANGE_PROTO_SPECIFIED | NF_NAT_RANGE_PROTO_RANDOM_FULLY);
  t.is(n.minPort, 1024);
  t.is(n.maxPort, 65535);
  t.is(nat('oifname "wan0" masquerade random,persistent').flags, NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PERSISTENT);
});

test('redirect to :PORT and to PORT (prerouting and output)', (t) => {
  t.deepEqual(nat('iifname "lan1" tcp dport 80 redirect to :3128', 'prerouting'), { kind: 'redirect', l3: 4, flags: NF_NAT_RANGE_PROTO_SPECIFIED, minAddr: 0, maxAddr: 0, minPort: 3128, maxPort: 3128 });
  t.is(nat('tcp dport 80 redirect to 3129', 'output').minPort, 3129);
});

test('counter, accept and return set the rule verdict; counter alone continues', (t) => {
  const rs = load(chain('counter\n    ip saddr 10.0.0.0/8 accept\n    return'));
  t.deepEqual(rs.rules.map((r) => [r.counter, r.verdict]), [[true, 'none'], [false, 'accept'], [false, 'return']]);
});

// ---- matches (docs/rules.md §2) ----

test('rule info: ids in file order, chain, hook, priority, index, line, text', (t) => {
  const rs = load('table ip nat {\n  chain post {\n    type nat hook postrouting priority srcnat + 5; policy accept;\n    ip saddr 10.0.0.0/8   counter   snat to 203.0.113.1\n    oifname "wan0" masquerade\n  }\n}\n');
  t.deepEqual(rs.rules.map(({ id, table, chain: c, hook, priority, index, line, text }) => ({ id, table, chain: c, hook, priority, index, line, text })), [
    { id: 0, table: 'nat', chain: 'post', hook: 'postrouting', priority: 105, index: 0, line: 4, text: 'ip saddr 10.0.0.0/8 counter snat to 203.0.113.1' },
    { id: 1, table: 'nat', chain: 'post', hook: 'postrouting', priority: 105, index: 1, line: 5, text: 'oifname "wan0" masquerade' },
  ]);
});

test('priorities: names with offsets, numbers (nft std_prios: dstnat -100, srcnat 100)', (t) => {
  const prio = (hook: string, p: string): number => load(chain('counter', hook, p)).rules[0].priority;
  t.is(prio('prerouting', 'dstnat'), -100);
  t.is(prio('prerouting', 'dstnat + 5'), -95);
  t.is(prio('prerouting', 'dstnat-5'), -105);
  t.is(prio('postrouting', 'srcnat'), 100);
  t.is(prio('postrouting', 'srcnat +10'), 110);
  t.is(prio('input', 'srcnat'), 100);
  t.is(prio('output', 'dstnat'), -100);
  t.is(prio('postrouting', '-150'), -150);
  t.is(prio('postrouting', 'filter'), 0);
  t.is(prio('postrouting', 'mangle'), -150);
  t.is(prio('postrouting', '-199'), -199);
});

test('comments, semicolons and newlines separate alike; a chain declared twice gets both rule lists', (t) => {
  const a = load('# a comment\ntable ip nat { chain c { type nat hook postrouting priority srcnat; ip saddr 10.0.0.1 snat to 1.1.1.1; ip saddr 10.0.0.2 snat to 2.2.2.2 } } # end\n');
  t.is(a.rules.length, 2);
  const b = load('flush ruleset\ntable ip nat {\n chain c {\n  type nat hook postrouting priority srcnat # comment\n  ip saddr 10.0.0.1 snat to 1.1.1.1 # why\n }\n}\ntable ip nat {\n chain c {\n  ip saddr 10.0.0.2 snat to 2.2.2.2\n }\n}\n');
  t.deepEqual(b.rules.map((r) => [r.chain, r.index, r.line]), [['c', 0, 5], ['c', 1, 10]]);
});

test('define: scalars and sets, used in matches and NAT statements', (t) => {
  const rs = load('define LAN = 10.0.0.0/8\ndefine DNS = { 53, 853 }\ndefine PUB = 203.0.113.9\ntable ip nat {\n chain c {\n  type nat hook postrouting priority srcnat\n  ip saddr $LAN udp dport $DNS snat to $PUB:1024-2047\n }\n}\n');
  t.is(rs.rules[0].nat!.minAddr, ip('203.0.113.9'));
  t.is(rs.rules[0].nat!.minPort, 1024);
  t.is(rs.rules[0].text, 'ip saddr $LAN udp dport $DNS snat to $PUB:1024-2047');
});

test('sets may span lines and end with a comma', (t) => {
  const rs = load(chain('ip saddr {\n      10.0.0.0/8,\n      192.168.0.0/16,\n    } snat to 1.1.1.1'));
  t.is(rs.rules.length, 1);
  t.is(rs.rules[0].line, 4);
});

// ---- errors with exact line:column (docs/rules.md §6) ----

test('errors name file:line:col and what is supported', (t) => {
  // line 4 is "    <rule>": the rule starts at column 5
  t.regex(error(chain('log prefix "x" drop')), /^r\.nft:4:5: "log" is not supported in this version \(see docs\/rules\.md §6\); supported: ip saddr\|daddr\|protocol, ip6 saddr\|daddr, tcp sport\|dport\|flags, udp sport\|dport, .*ct state\|status\|mark, .*notrack, counter, accept, drop, reject, return, snat, dnat, masquerade, redirect/);
  t.regex(error(chain('frobnicate')), /^r\.nft:4:5: unknown or unsupported "frobnicate"; supported: ip saddr/);
  t.is(error(chain('snat to 203.0.113.300')), 'r.nft:4:13: "203.0.113.300" is not an IPv4 address (four numbers 0..255 separated by dots)');
  t.is(error(chain('snat to 203.0.113.9-203.0.113.5')), 'r.nft:4:13: address range 203.0.113.9-203.0.113.5 has its start after its end');
  t.is(error(chain('snat to 203.0.113.5-203.0.113.x')), 'r.nft:4:25: "203.0.113.x" is not an IPv4 address (the end of the range 203.0.113.5-...)');
  // "    tcp dport 80 snat to 1.2.3.4:2000-1000": the address starts at column 26, the port part at 34
  t.is(error(chain('tcp dport 80 snat to 1.2.3.4:2000-1000')), 'r.nft:4:34: port range 2000-1000 has min 2000 > max 1000');
  t.is(error(chain('tcp dport 90-80 snat to 1.2.3.4')), 'r.nft:4:15: port range 90-80 has min 90 > max 80');
  t.is(error(chain('tcp dport 65536 accept')), 'r.nft:4:15: port 65536 is out of range (0..65535)');
  t.is(error(chain('snat to 1.2.3.4:80')), 'r.nft:4:21: a port mapping needs a transport protocol match before it in the rule (e.g. meta l4proto { tcp, udp }, tcp dport 80, ip protocol udp)');
  t.is(error(chain('ip saddr 10.0.0.0/33 accept')), 'r.nft:4:23: bad prefix length "33" (expected 0..32)');
  t.is(error(chain('snat to 1.2.3.4 counter')), 'r.nft:4:21: "counter" follows a terminal statement (snat), which ends the rule; nothing after it has an effect');
  t.is(error(chain('snat to 1.2.3.4 random persistent')), 'r.nft:4:28: expected "," between NAT flags (e.g. random,persistent), got "persistent"');
  t.is(error(chain('tcp dport 1-2 udp dport 3 accept')), 'r.nft:4:19: conflicting transport protocols in one rule (tcp at 4:5)');
  t.is(error(chain('meta l4proto { udp, icmp } tcp dport 80 accept')), 'r.nft:4:5: conflicting protocols: this meta l4proto match excludes tcp, which the tcp port match at 4:32 needs, so no packet can match');
  t.is(error(chain('meta l4proto { tcp, udp } tcp dport 80 accept')), 'no error');
  t.is(error(chain('ip6 saddr ::1 accept')), 'r.nft:4:5: "ip6" matches do not apply in a table of family ip (conflicting protocols)');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook postrouting priority dstnat;\n  }\n}\n'), 'r.nft:3:40: priority "dstnat" is invalid at hook postrouting (nft allows it at prerouting and output)');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook prerouting priority -200;\n  }\n}\n'), 'r.nft:3:39: priority -200 is not above -200 (NF_IP_PRI_CONNTRACK); the kernel refuses a type nat chain that would run before conntrack');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook forward priority 0;\n  }\n}\n'), 'r.nft:3:19: a type nat chain cannot use hook forward; supported: prerouting, input, output, postrouting');
  t.is(error('table ip filter {\n  chain c {\n    type route hook output priority 0;\n  }\n}\n'), 'r.nft:3:5: "type route" chains are not supported; supported: type filter, type nat');
  t.is(error('table bridge nat {\n}\n'), 'r.nft:1:7: unsupported table family "bridge"; supported: ip, ip6, inet');
  t.is(error(chain('snat to 1.2.3.4', 'prerouting')), 'r.nft:4:5: snat is not allowed at hook prerouting; it runs at postrouting or input');
  t.is(error(chain('dnat to 1.2.3.4')), 'r.nft:4:5: dnat is not allowed at hook postrouting; it runs at prerouting or output');
  t.is(error(chain('masquerade', 'prerouting')), 'r.nft:4:5: masquerade is not allowed at hook prerouting; it runs at postrouting');
  t.is(error(chain('ip saddr $NOPE accept')), 'r.nft:4:14: unknown variable "$NOPE" (define it before use: define NOPE = ...)');
  t.is(error(chain('ip saddr 10.0.0.1 "unterminated')), 'r.nft:4:23: unterminated string (a quoted string ends with " on the same line)');
  t.is(error(chain('ip saddr { 10.0.0.1 accept')), 'r.nft:4:25: expected "," or "}" in the set, got "accept"');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook postrouting priority srcnat;\n    ip saddr { 10.0.0.1'), 'r.nft:4:5: a set "{" in this rule is not closed');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook postrouting priority srcnat;\n'), 'r.nft:4:1: missing "}" closing chain c');
  t.is(error('table ip nat {\n  chain c {\n    type nat hook postrouting priority srcnat; policy drop;\n  }\n}\n'), 'r.nft:3:55: policy drop in a type nat chain is not supported (use it in a type filter chain)');
  t.is(error('table ip nat {\n  chain c {\n    ip saddr 10.0.0.1 accept\n  }\n}\n'), 'r.nft:2:3: chain c has no "type ... hook ... priority ...;": regular chains need jump/goto, which this subset does not have');
  t.is(error('include "x.nft"\n'), 'r.nft:1:1: unexpected "include"; supported at the top level: table ip|ip6|inet NAME { ... }, define NAME = VALUE, flush ruleset');
  t.is(error(chain('iifname "eth*x" accept')), 'r.nft:4:17: a wildcard "*" may only end an interface name');
});

test('inet tables: snat with an address needs the family (nft: "specify snat ip or snat ip6")', (t) => {
  t.is(error(chain('snat to 1.2.3.4', 'postrouting', 'srcnat', 'inet')), 'r.nft:4:5: specify "snat ip" or "snat ip6" in an inet table to disambiguate (or match ip/ip6 addresses before it)');
  t.is(nat('snat ip to 1.2.3.4', 'postrouting', 'inet').l3, 4);
  t.is(nat('ip saddr 10.0.0.0/8 snat to 1.2.3.4', 'postrouting', 'inet').l3, 4);
  t.is(nat('oifname "wan0" masquerade', 'postrouting', 'inet').flags, 0);
});

test('interfaces: unknown names, no routes, masquerade and redirect without an address (nf_nat_masquerade.c drops)', (t) => {
  t.is(error(chain('oifname "wan9" masquerade')), 'r.nft:4:13: unknown interface "wan9"; the routes declare: lan0, lan1, wan0');
  t.is(error(chain('oif wan9 accept')), 'r.nft:4:9: unknown interface "wan9" (iif/oif need an existing interface); the routes declare: lan0, lan1, wan0');
  t.is(error(chain('oifname "wan0" accept'), null), 'r.nft:4:5: oifname needs interfaces, and no routes were declared (routes: in a scenario, --route PREFIX=IFNAME in replay)');
  t.is(error(chain('oifname "lan0" masquerade')), 'r.nft:4:20: masquerade needs an address on the outgoing interface, and lan0 has none; declare it with the route (e.g. --route 0.0.0.0/0=lan0@203.0.113.1, or addr: in routes:)');
  t.is(error(chain('masquerade'), null), 'r.nft:4:5: masquerade takes the address of the outgoing interface, and no routes were declared (routes: in a scenario, --route PREFIX=IFNAME@ADDR in replay)');
  const noAddr = buildRoutes([{ prefix: '0.0.0.0/0', iface: 'eth0' }]);
  if (!noAddr.ok) throw new Error('routes');
  t.is(error(chain('masquerade'), noAddr.routes), 'r.nft:4:5: masquerade needs an address on the outgoing interface, and eth0 has none; declare it with the route (e.g. --route 0.0.0.0/0=eth0@203.0.113.1, or addr: in routes:)');
  // unrestricted masquerade with at least one addressed interface loads (other interfaces drop at run time)
  t.is(error(chain('masquerade')), 'no error');
  t.is(error(chain('iifname "lan0" tcp dport 80 redirect to :3128', 'prerouting')), 'r.nft:4:33: redirect needs an address on the incoming interface, and lan0 has none; declare it with the route (e.g. --route 0.0.0.0/0=lan0@203.0.113.1, or addr: in routes:)');
  t.is(error(chain('tcp dport 80 redirect to :3128', 'output')), 'no error'); // output redirects to 127.0.0.1
});

test('a line and column offset place errors of an inline ruleset in its scenario file', (t) => {
  try {
    loadRuleset(chain('bogus'), 'scenario.yaml', ROUTES, { lineOffset: 10, colOffset: 2, inline: true });
    t.fail();
  } catch (e) {
    t.regex((e as Error).message, /^scenario\.yaml:14:7: /);
  }
});

test('dnat to numgen random|inc mod N map { ... }: per-packet address (nft_numgen.c), map checked at load', (t) => {
  const rs = load(chain('udp dport 53 dnat to numgen random mod 3 map { 0 : 10.0.0.1, 1: 10.0.0.2, 2 :10.0.0.3 }', 'prerouting'));
  const n = rs.rules[0].nat!;
  t.deepEqual(n.numgen, { mode: 'random', mod: 3, offset: 0, addrs: [ip('10.0.0.1'), ip('10.0.0.2'), ip('10.0.0.3')] });
  t.is(n.flags, NF_NAT_RANGE_MAP_IPS);
  t.is(n.minAddr, ip('10.0.0.1'));
  // reciprocal_scale(draw, 3) = floor(draw * 3 / 2^32): the boundaries of the three thirds
  t.is(rs.numgenIndex(0, 0), 0);
  t.is(rs.numgenIndex(0, 0x55555555), 0); // 0x55555555 * 3 = 2^32 - 1
  t.is(rs.numgenIndex(0, 0x55555556), 1);
  t.is(rs.numgenIndex(0, 0xaaaaaaaa), 1); // * 3 = 2^33 - 2
  t.is(rs.numgenIndex(0, 0xaaaaaaab), 2);
  t.is(rs.numgenIndex(0, 0xffffffff), 2);
  t.is(rs.numgenIndex(0, -1), 2); // an int32 draw is read as its unsigned bits
  const inc = load(chain('dnat to numgen inc mod 2 offset 5 map { 5 : 10.0.0.1, 6 : 10.0.0.2 }', 'prerouting'));
  t.deepEqual([0, 1, 2, 3, 4].map(() => inc.numgenIndex(0, 0)), [0, 1, 0, 1, 0]); // the counter starts at mod - 1
  t.deepEqual([0, 1].map(() => inc.clone().numgenIndex(0, 0)), [0, 0]); // a clone starts afresh
  t.is(error(chain('dnat to numgen random mod 3 map { 0 : 10.0.0.1, 1 : 10.0.0.2 }', 'prerouting')), 'r.nft:4:37: map has no address for value 2: every value numgen random mod 3 generates needs one (a missing key makes the kernel skip the NAT)');
  t.is(error(chain('dnat to numgen random mod 2 map { 0 : 10.0.0.1, 2 : 10.0.0.2 }', 'prerouting')), 'r.nft:4:53: map key 2 is never generated by numgen random mod 2 (values 0..1)');
  t.is(error(chain('dnat to numgen random mod 0 map { 0 : 10.0.0.1 }', 'prerouting')), 'r.nft:4:27: numgen mod 0: the modulus must be at least 1');
  t.is(error(chain('dnat to numgen hash mod 2 map { 0 : 10.0.0.1 }', 'prerouting')), 'r.nft:4:20: expected "random" or "inc" after numgen, got "hash"');
});
