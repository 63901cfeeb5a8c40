import test from 'ava';
import { createConntrack } from '../conntrack/create.js';
import { InputError } from '../io/errors.js';
import { assertTableFits, bucketBytesWhenFull, checkTableMemory, estimateTableBytes, slotLayout } from './memory-guard.js';
import { Pkt } from '../conntrack/packet.js';
import { IPPROTO_TCP, TH_SYN } from '../conntrack/constants.js';

const sc = (sysctl: Record<string, number>, memory = 24 * 1024 ** 3) => ({ kernel: { version: '6.12', hz: 250, memory, gc_buckets_per_ms: 8192 }, sysctl }) as unknown as Parameters<typeof estimateTableBytes>[0];

test('the layout is measured from the model: bytes per slot and per bucket', (t) => {
  const L = slotLayout();
  t.true(Number.isInteger(L.perSlot) && L.perSlot > 0);
  t.is(L.perSlot, L.bySection['table']! + L.bySection['side']! + L.bySection['tcp']!);
  t.is(L.perBucket, 21, 'bucket record (16 B: chain length and three nodes) and 1.25 words of initial spill area (5 B)');
  // cross-check against a real instance: every typed array it owns
  const ct = createConntrack({ sysctl: { nf_conntrack_max: 5000, nf_conntrack_buckets: 4096 } });
  let n = 0;
  const seen = new Set<ArrayBufferLike>(); // views of one buffer (TcpStore's w and b) count once
  for (const o of [ct, ct.table, ct.tcp]) for (const v of Object.values(o)) if (ArrayBuffer.isView(v) && !seen.has(v.buffer)) { seen.add(v.buffer); n += v.byteLength; }
  t.is(n, 5000 * L.perSlot + 4096 * L.perBucket + L.fixed);
});

test('estimateTableBytes follows the sysctls and the kernel sizing rule', (t) => {
  const L = slotLayout();
  const e = estimateTableBytes(sc({ nf_conntrack_max: 1_000_000, nf_conntrack_buckets: 1_048_576 }));
  t.is(e.nf_conntrack_max, 1_000_000);
  t.is(e.perBucket, 24, 'a full table of ~1.9 nodes per bucket: record + expected spill blocks (see bucketBytesWhenFull)');
  t.is(e.bytes, 1_000_000 * L.perSlot + 1_048_576 * 24 + L.fixed);
  t.false(e.unbounded);
  // 4 GiB host, v6.12: 65536 buckets and entries (§1.2)
  const d = estimateTableBytes(sc({}, 4 * 1024 ** 3));
  t.is(d.nf_conntrack_max, 65536);
  t.is(d.nf_conntrack_buckets, 65536);
  t.true(estimateTableBytes(sc({ nf_conntrack_max: 0 })).unbounded);
  // 4,000,000 IPv4 entries fit well under 1 GiB
  t.true(estimateTableBytes(sc({ nf_conntrack_max: 4_000_000, nf_conntrack_buckets: 4_194_304 })).bytes < 0.6 * 1024 ** 3);
});

test('a table that cannot fit fails at once with the figure it needs', (t) => {
  const big = sc({ nf_conntrack_max: 50_000_000 });
  const r = checkTableMemory(big, { where: 'big.yaml', available: 1024 ** 3 });
  t.false(r.ok);
  if (!r.ok) {
    t.true(r.needed > 4.5 * 1024 ** 3, `50 M slots of ${slotLayout().perSlot} B`);
    t.regex(r.message, /^big\.yaml: the conntrack table cannot fit in memory: it needs \d+\.\d\d GiB \(nf_conntrack_max 50,000,000 × \d+ B \+ 262,144 buckets × \d+ B = \d+\.\d\d GiB, plus 256\.00 MiB per run\) but 1\.00 GiB is available/);
  }
  t.true(checkTableMemory(sc({ nf_conntrack_max: 65536 }), { where: 'x', available: 1024 ** 3 }).ok);
  t.throws(() => assertTableFits(big, 'big.yaml', 4, 1024 ** 3), { instanceOf: InputError, message: /4 concurrent runs × \(/ });
});

/** P(L = n) of a Poisson(k) law by its definition, with n! built up as a product. */
function poisson(k: number, n: number): number {
  let p = Math.exp(-k);
  for (let i = 1; i <= n; i++) p *= k / i;
  return p;
}

test('bucketBytesWhenFull: record + 1.5 × 1.25 × the expected spill block of a Poisson chain; an upper bound of what a filled table takes', (t) => {
  t.is(bucketBytesWhenFull(21, 0), 21, 'an empty table keeps the initial figure');
  // k = 2: chains of 4..8 nodes take an 8-node block, 9..16 a 16-node one, ...
  let words = 0;
  for (let n = 4; n <= 60; n++) words += poisson(2, n) * (n <= 8 ? 8 : n <= 16 ? 16 : n <= 32 ? 32 : 64);
  t.is(bucketBytesWhenFull(21, 2), Math.ceil(16 + 4 * words * 1.5 * 1.25));
  // measured: tables filled with random SYNs at 2, 8 and 16 nodes per bucket stay below the estimate
  for (const [max, buckets] of [[1024, 1024], [4096, 1024], [8192, 1024]] as const) {
    const ct = createConntrack({ version: '6.12', seed: 3, sysctl: { nf_conntrack_max: max, nf_conntrack_buckets: buckets } });
    const pkt = new Pkt();
    for (let i = 0; i < max; i++) {
      pkt.reset(); pkt.proto = IPPROTO_TCP; pkt.tcpFlags = TH_SYN; pkt.win = 64240; pkt.seq = i;
      pkt.src = (0x0a000000 + i * 7919) | 0; pkt.sport = 1024 + (i % 60000); pkt.dst = 0xc000020a | 0; pkt.dport = 80;
      ct.setNow(i * 10);
      ct.packetIn(pkt);
    }
    const measured = ct.table.bkt.byteLength / buckets;
    const k = 2 * ct.count / buckets;
    t.true(ct.count > 0.97 * max, `${ct.count} of ${max} entries (the chain-length limit refuses a few)`);
    t.true(measured <= bucketBytesWhenFull(21, k), `k ${k.toFixed(1)}: measured ${measured} B per bucket, estimate ${bucketBytesWhenFull(21, k)}`);
  }
});
