/**
 * The route table (docs/rules.md §5): longest prefix match, the default route, interfaces and
 * their addresses, IPv6 routes, and bad input (ambiguous or duplicate prefixes, host bits,
 * two addresses on one interface), plus `--route` parsing.
 */
import test from 'ava';
import { AddrInterner, parseIPv4, parseIPv6 } from '../conntrack/addr.js';
import { buildRoutes, parseRouteArg, type RouteEntry, type RouteTable } from './index.js';

const build = (entries: RouteEntry[]): RouteTable => {
  const r = buildRoutes(entries);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('; '));
  return r.routes;
};
const issues = (entries: RouteEntry[]): string[] => {
  const r = buildRoutes(entries);
  return r.ok ? [] : r.issues.map((i) => `routes[${i.index}].${i.field}: ${i.message}`);
};

test('longest prefix wins whatever the declaration order; 0.0.0.0/0 catches the rest', (t) => {
  const r = build([
    { prefix: '0.0.0.0/0', iface: 'wan0', addr: '203.0.113.1' },
    { prefix: '10.0.0.0/8', iface: 'lan0' },
    { prefix: '10.1.0.0/16', iface: 'lan1', addr: '10.1.0.1' },
    { prefix: '10.1.2.3/32', iface: 'host0' },
  ]);
  const at = (a: string): string => r.name(r.ifaceOf(4, parseIPv4(a)));
  t.is(at('10.1.2.3'), 'host0');
  t.is(at('10.1.2.4'), 'lan1');
  t.is(at('10.1.255.255'), 'lan1');
  t.is(at('10.2.0.0'), 'lan0');
  t.is(at('9.255.255.255'), 'wan0');
  t.is(at('255.255.255.255'), 'wan0');
  t.is(r.count, 4);
  t.deepEqual(r.interfaces(), ['wan0', 'lan0', 'lan1', 'host0']); // numbered by first appearance
  t.is(r.addr(r.find('wan0')), parseIPv4('203.0.113.1'));
  t.is(r.addr(r.find('lan0')), undefined);
  t.is(r.addr(-1), undefined);
  t.is(r.name(-1), '');
  t.is(r.find('nope'), -1);
});

test('without a default route an unrouted address has no interface (-1)', (t) => {
  const r = build([{ prefix: '10.0.0.0/8', iface: 'lan0' }, { prefix: '128.0.0.0/1', iface: 'top' }]);
  t.is(r.ifaceOf(4, parseIPv4('11.0.0.1')), -1);
  t.is(r.name(r.ifaceOf(4, parseIPv4('128.0.0.0'))), 'top'); // high bit set: int32 negative, still matched
  t.is(r.name(r.ifaceOf(4, parseIPv4('255.0.0.1'))), 'top');
  t.is(r.ifaceOf(4, parseIPv4('127.255.255.255')), -1);
});

test('one interface may carry several prefixes; the same address declared twice is fine', (t) => {
  const r = build([
    { prefix: '10.0.0.0/8', iface: 'lan0', addr: '10.0.0.1' },
    { prefix: '172.16.0.0/12', iface: 'lan0', addr: '10.0.0.1' },
  ]);
  t.is(r.count, 1);
  t.is(r.ifaceOf(4, parseIPv4('172.20.0.1')), 0);
});

test('IPv6 routes: longest prefix on the 16-byte form, and through the interner for packet ids', (t) => {
  const r = build([
    { prefix: '::/0', iface: 'wan0', addr: '2001:db8:ffff::1' },
    { prefix: '2001:db8::/32', iface: 'lan0' },
    { prefix: '2001:db8:0:1::/64', iface: 'lan1' },
  ]);
  t.is(r.name(r.ifaceOf6(parseIPv6('2001:db8:0:1::5'), 0)), 'lan1');
  t.is(r.name(r.ifaceOf6(parseIPv6('2001:db8:0:2::5'), 0)), 'lan0');
  t.is(r.name(r.ifaceOf6(parseIPv6('2a00::1'), 0)), 'wan0');
  t.deepEqual([...r.addr6(0)!], [...parseIPv6('2001:db8:ffff::1')]);
  t.throws(() => r.ifaceOf(6, 1), { message: /no AddrInterner bound/ });
  const interner = new AddrInterner();
  const id = interner.internText('2001:db8:0:1::9');
  r.bindInterner(interner);
  t.is(r.name(r.ifaceOf(6, id)), 'lan1');
  t.is(r.ifaceOf(4, parseIPv4('10.0.0.1')), -1); // no IPv4 route at all
});

test('bad input: ambiguous and duplicate prefixes, host bits, two addresses, bad names and addresses', (t) => {
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a' }, { prefix: '10.0.0.0/8', iface: 'b' }]),
    ['routes[1].prefix: ambiguous route: 10.0.0.0/8 is already routed to a by routes[0]; a prefix needs exactly one interface']);
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a' }, { prefix: '10.0.0.0/8', iface: 'a' }]),
    ['routes[1].prefix: duplicate route: 10.0.0.0/8 is already routed to a by routes[0]']);
  t.deepEqual(issues([{ prefix: '2001:db8::/32', iface: 'a' }, { prefix: '2001:0db8::/32', iface: 'b' }]),
    ['routes[1].prefix: ambiguous route: 2001:0db8::/32 is already routed to a by routes[0]; a prefix needs exactly one interface']);
  t.deepEqual(issues([{ prefix: '10.0.0.1/8', iface: 'a' }]), ['routes[0].prefix: "10.0.0.1/8" has bits set past the prefix length; did you mean 10.0.0.0/8?']);
  t.deepEqual(issues([{ prefix: '10.0.0.0/33', iface: 'a' }]), ['routes[0].prefix: bad prefix length "33" (expected 0..32); expected a prefix such as 10.0.0.0/8, 0.0.0.0/0 or 2001:db8::/32']);
  t.deepEqual(issues([{ prefix: '10.0.0/8', iface: 'a' }]), ['routes[0].prefix: "10.0.0" is not an IPv4 or IPv6 address; expected a prefix such as 10.0.0.0/8, 0.0.0.0/0 or 2001:db8::/32']);
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a', addr: '10.0.0.1' }, { prefix: '11.0.0.0/8', iface: 'a', addr: '11.0.0.1' }]),
    ['routes[1].addr: interface a already has address 10.0.0.1 (routes[0]); one IPv4 address per interface']);
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a', addr: '10.0.0.300' }]),
    ['routes[0].addr: "10.0.0.300" is not an IPv4 or IPv6 address (expected the interface\'s own address, e.g. 10.98.0.1)']);
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a-very-long-interface' }]),
    ['routes[0].iface: "a-very-long-interface" is not an interface name (1 to 15 characters of letters, digits, "_", ".", "-", "@")']);
  // an interface may hold one IPv4 and one IPv6 address
  t.deepEqual(issues([{ prefix: '10.0.0.0/8', iface: 'a', addr: '10.0.0.1' }, { prefix: '2001:db8::/32', iface: 'a', addr: '2001:db8::1' }]), []);
});

test('--route PREFIX=IFNAME[@ADDR]', (t) => {
  t.deepEqual(parseRouteArg('10.98.0.0/24=f1@10.98.0.1'), { prefix: '10.98.0.0/24', iface: 'f1', addr: '10.98.0.1' });
  t.deepEqual(parseRouteArg('0.0.0.0/0=wan0'), { prefix: '0.0.0.0/0', iface: 'wan0' });
  t.deepEqual(parseRouteArg('::/0=wan0@2001:db8::1'), { prefix: '::/0', iface: 'wan0', addr: '2001:db8::1' });
  t.deepEqual(parseRouteArg('10.0.0.0/8=veth0@if2'), { prefix: '10.0.0.0/8', iface: 'veth0@if2' });
  t.deepEqual(parseRouteArg('10.0.0.0/8=eth0@10.0.0.300'), { prefix: '10.0.0.0/8', iface: 'eth0', addr: '10.0.0.300' }); // refused by buildRoutes
  t.is(parseRouteArg('10.0.0.0/8'), 'expected PREFIX=IFNAME[@ADDR] (e.g. 10.98.0.0/24=f1@10.98.0.1), got "10.0.0.0/8"');
});
