/**
 * Boundary tests (issue 17): each rule at exactly its limit and one past it, against an
 * expectation computed here from the rule as docs/model.md states it (section cited), not from
 * the code's own output.
 */
import test from 'ava';
import { IPPROTO_TCP } from './constants.js';
import { NF_DROP } from './conntrack.js';
import { createConntrack } from './create.js';
import { Pkt } from './packet.js';
import { defaultSizing } from './sizing.js';
import { icmpEcho, ip, portFor, send, tcp } from './testing.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const TCP_L3 = (4 << 8) | IPPROTO_TCP;
const key = (sport: number, dport: number) => ((sport << 16) | dport) | 0;

/** max entries, `buckets` buckets (not rounded to 512: placement tests need a small ring). */
function ring(max: number, buckets: number) {
  const ct = createConntrack({ version: '6.12', hz: 250, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: 512 }, seed: 3 });
  ct.table.resetBuckets(buckets);
  return ct;
}

/**
 * One unassured victim with both nodes in bucket (b0 + offset) mod n, the table full with it,
 * then a new SYN whose ORIGINAL tuple hashes to b0.
 */
function scanReaching(offset: number): { evicted: boolean; dropped: boolean; earlyDrop: number; drop: number } {
  const n = 32;
  const b0 = 5;
  const ct = ring(1, n);
  const p = new Pkt();
  const vb = (b0 + offset) % n;
  const sv = portFor(ct, A, B, 80, IPPROTO_TCP, vb, vb);
  send(ct, 0, tcp(p, A, sv, B, 80, 'S'));
  const sn = portFor(ct, A, B, 80, IPPROTO_TCP, b0, undefined, sv + 1);
  const v = send(ct, 1000, tcp(p, A, sn, B, 80, 'S'));
  return {
    evicted: ct.find(A, B, key(sv, 80), TCP_L3) < 0, dropped: v === NF_DROP,
    earlyDrop: ct.stats.early_drop, drop: ct.stats.drop,
  };
}

test('§2.1 early_drop scans NF_CT_EVICTION_RANGE = 8 buckets: a victim in the 8th (b0 + 7) is evicted', (t) => {
  const r = scanReaching(7);
  t.true(r.evicted);
  t.false(r.dropped);
  t.is(r.earlyDrop, 1);
  t.is(r.drop, 0);
});

test('§2.1 …and one in the 9th (b0 + 8) is not: the packet is dropped, the victim stays', (t) => {
  const r = scanReaching(8);
  t.false(r.evicted);
  t.true(r.dropped);
  t.is(r.earlyDrop, 0);
  t.is(r.drop, 1);
});

test('§2.1 the first bucket (b0 itself) is part of the scan', (t) => {
  const r = scanReaching(0);
  t.true(r.evicted);
  t.is(r.earlyDrop, 1);
});

// §1.2: buckets = RAM / 16384 / 8 (64-bit), 65536 above 1 GiB, 262144 above 4 GiB, at least 1024,
// rounded up to a multiple of 512; max = buckets (factor 1) from v5.15.
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const PAGE = 4096;
const expected = (ram: number): number => {
  let b = Math.floor(ram / 131072);
  if (ram > 4 * GiB) b = 262144;
  else if (ram > GiB) b = 65536;
  if (b < 1024) b = 1024;
  return Math.ceil(b / 512) * 512;
};
const SIZES: [string, number, number][] = [
  ['64 MiB (below the 1024 floor: 512 → 1024)', 64 * MiB, 1024],
  ['128 MiB (exactly the floor)', 128 * MiB, 1024],
  ['128 MiB + 1 page (1024 → rounds to 1024)', 128 * MiB + PAGE, 1024],
  ['135 MiB (1080 → rounded up to 1536)', 135 * MiB, 1536],
  ['512 MiB', 512 * MiB, 4096],
  ['1 GiB − 1 page (8191 → rounded up to 8192)', GiB - PAGE, 8192],
  ['exactly 1 GiB (not above it: 8192)', GiB, 8192],
  ['1 GiB + 1 page (above: 65536)', GiB + PAGE, 65536],
  ['exactly 4 GiB (not above it: 65536)', 4 * GiB, 65536],
  ['4 GiB + 1 page (above: 262144)', 4 * GiB + PAGE, 262144],
];
for (const [what, ram, want] of SIZES) {
  test(`§1.2 default sizing from RAM: ${what}`, (t) => {
    t.is(expected(ram), want, 'the rule as written gives the figure in the table');
    const s = defaultSizing(ram, undefined, [6, 12]);
    t.is(s.buckets, want);
    t.is(s.max, want);
  });
}

/**
 * §1.8: confirm counts the nodes of the ORIGINAL and REPLY chains ("chainlen++ > max_chainlen"),
 * max_chainlen drawn from [50, 79]: with a limit L, an insertion into a chain of L + 1 nodes
 * succeeds and one into a chain of L + 2 nodes fails (chaintoolong, insert_failed).
 */
function fillChain(draw: number): { inserted: number; chaintoolong: number; insertFailed: number } {
  const ct = ring(500, 2);
  (ct as unknown as { random: () => number }).random = () => draw;
  const p = new Pkt();
  let from = 1024;
  let inserted = 0;
  for (let i = 0; i < 120; i++) {
    const sport = portFor(ct, A, B, 80, IPPROTO_TCP, 0, 1, from); // each entry adds one node to each chain
    from = sport + 1;
    if (send(ct, 0, tcp(p, A, sport, B, 80, 'S')) !== NF_DROP) inserted++;
    else break;
  }
  return { inserted, chaintoolong: ct.stats.chaintoolong, insertFailed: ct.stats.insert_failed };
}

test('§1.8 chain length limit 50 (lowest draw): chains of 51 nodes accept, 52 refuse', (t) => {
  // entries 1..52 meet chains of 0..51 nodes; the 53rd meets 52 = 50 + 2
  t.deepEqual(fillChain(0), { inserted: 52, chaintoolong: 1, insertFailed: 1 });
});

test('§1.8 chain length limit 79 (highest draw): chains of 80 nodes accept, 81 refuse', (t) => {
  t.deepEqual(fillChain(0.99999), { inserted: 81, chaintoolong: 1, insertFailed: 1 });
});

/**
 * §6.1: only ECHO (8), TIMESTAMP (13), INFO_REQUEST (15) and ADDRESS (17) may create an ICMP
 * entry; their replies (0, 14, 16, 18) and types past NR_ICMP_TYPES (18) may not.
 */
const ICMP_NEW: [number, boolean][] = [
  [0, false], [8, true], [13, true], [14, false], [15, true], [16, false], [17, true], [18, false], [19, false], [255, false],
];
for (const [type, creates] of ICMP_NEW) {
  test(`§6.1 ICMP type ${type} ${creates ? 'creates' : 'does not create'} an entry`, (t) => {
    const ct = createConntrack({ version: '6.12', hz: 250, sysctl: { nf_conntrack_max: 64, nf_conntrack_buckets: 512 }, seed: 1 });
    send(ct, 1000, icmpEcho(new Pkt(), A, B, 99, type)); // type in the tuple's dport, as decode writes it

    t.is(ct.count, creates ? 1 : 0);
  });
}
