/**
 * `ct table above P%` (docs/rules.md §10): the seed paper's `-m conntrack --table-above 75`
 * occupancy condition as a match. Strictly above: count * 100 > P * nf_conntrack_max, with the
 * count as nf_conntrack_in left it (the packet's own new, unconfirmed entry included).
 */
import test from 'ava';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { ip, send, udp } from '../conntrack/testing.js';
import { loadRuleset, setupRules } from './index.js';

const A = ip(10, 0, 0, 2), B = ip(192, 0, 2, 10);

function fw(max: number, body: string, hook = 'forward', prio = 'filter') {
  const ct = createConntrack({ version: '6.12', seed: 3, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 64 } });
  const rs = loadRuleset(`table inet f {\n chain c {\n  type filter hook ${hook} priority ${prio};\n  ${body}\n }\n}\n`, 'r.nft', undefined).clone();
  setupRules(ct, rs, undefined);
  return { ct, rs, p: new Pkt() };
}

test('above 75% of 4 entries: the third new flow (3 entries, exactly 75%) does not match, the fourth (4 entries) does', (t) => {
  const { ct, rs, p } = fw(4, 'ct table above 75% counter');
  const hits: number[] = [];
  for (let i = 0; i < 4; i++) {
    send(ct, i, udp(p, A, 1000 + i, B, 53));
    hits.push(rs.packets[0]!);
  }
  // counts seen by the rule: 1, 2, 3, 4 entries (each packet's own entry included)
  t.deepEqual(hits, [0, 0, 0, 1]);
});

test('boundary at 1000 entries, 75%: 750 entries is not above, 751 is (independently: 75 * 1000 / 100 = 750)', (t) => {
  const { ct, rs, p } = fw(1000, 'ct table above 75% counter');
  for (let i = 0; i < 750; i++) send(ct, i, udp(p, A, 1000 + i, B, 53));
  t.is(ct.count, 750);
  t.is(rs.packets[0], 0);
  send(ct, 800, udp(p, A, 5000, B, 53));
  t.is(ct.count, 751);
  t.is(rs.packets[0], 1);
});

test('in raw prerouting the count excludes the packet\'s own entry (it has none yet)', (t) => {
  const { ct, rs, p } = fw(4, 'ct table above 50% counter', 'prerouting', 'raw');
  for (let i = 0; i < 4; i++) send(ct, i, udp(p, A, 1000 + i, B, 53));
  // counts before conntrack: 0, 1, 2, 3 → only 3 > 2
  t.is(rs.packets[0], 1);
});

test('0% matches as soon as one entry exists; 100% never matches', (t) => {
  const a = fw(4, 'ct table above 0% counter\n  ct table above 100% counter');
  send(a.ct, 0, udp(a.p, A, 1, B, 2));
  t.deepEqual([...a.rs.packets], [1, 0]);
});

test('bad input: ct table without above, or a percentage outside 0..100, names file:line:col', (t) => {
  const err = (body: string) => { try { fw(4, body); return 'no error'; } catch (e) { return (e as Error).message; } };
  t.is(err('ct table 75% drop'), 'r.nft:4:12: expected "above" after ct table (ct table above P%, the seed paper\'s occupancy match), got "75%"');
  t.is(err('ct table above 101% drop'), 'r.nft:4:18: expected a percentage 0%..100% after ct table above (e.g. 75%), got "101%"');
  t.is(err('ct table above 75 drop'), 'r.nft:4:18: expected a percentage 0%..100% after ct table above (e.g. 75%), got "75"');
  t.is(err('ct table above 75 % drop'), 'no error');
});
