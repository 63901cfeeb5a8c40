import test from 'ava';
import { encodeFrame, encodeNonIpFrame } from '../capture/encode.js';
import { writePcap, writePcapng } from '../capture/pcap-write.js';
import { gcScanExpiredMax } from '../conntrack/constants.js';
import { replayCapture, type ReplayOptions } from './replay.js';
import { CaptureBuilder, clientAddr, T0 } from './testkit.js';

const S = 1_000_000;
const small = (o: ReplayOptions = {}): ReplayOptions =>
  ({ ...o, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024, ...o.sysctl } });
const threshold95 = (max: number) => Math.floor(max / 100) * 95;

test('a TCP handshake and close: TIME_WAIT ASSURED, clean counters, events NEW … DESTROY', (t) => {
  const cap = new CaptureBuilder().tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 80, { close: true }).pcap();
  const r = replayCapture(cap, 'conn.pcap', small({ events: true }));
  t.is(r.frames, 7);
  t.is(r.ipPackets, 7);
  t.deepEqual(r.states, { 'tcp TIME_WAIT ASSURED': 1 });
  t.is(r.count, 1);
  t.true(Object.values(r.stats).every((v) => v === 0), JSON.stringify(r.stats));
  t.is(r.model.allocated, 1);
  t.is(r.model.confirmed, 1);
  const types = r.events!.trimEnd().split('\n').map((l) => /\[(NEW|UPDATE|DESTROY)\]/.exec(l)![1]);
  t.deepEqual(types, ['NEW', 'UPDATE', 'UPDATE', 'UPDATE', 'UPDATE', 'UPDATE', 'UPDATE']);
  t.true(r.events!.startsWith('[1700000000.000000]\t    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=192.0.2.80'));
  t.regex(r.events!, /\[UPDATE\] tcp {6}6 120 TIME_WAIT .* \[ASSURED\]\n$/);

  const later = replayCapture(cap, 'conn.pcap', small({ events: true, idleSeconds: 130 }));
  t.is(later.count, 0, 'TIME_WAIT (120 s) reaped by the gc');
  t.deepEqual(later.states, {});
  t.is(later.model.reaped_gc, 1);
  // an expired entry: no timeout (below 1 s is skipped), the TCP state is still sent (§9.1, kernel-diff)
  t.regex(later.events!, /\t\[DESTROY\] tcp {6}6 TIME_WAIT src=10.0.0.1 .* \[ASSURED\]\n$/);
  t.is(later.eventLines, 8);
});

test('a handshake only: "tcp ESTABLISHED ASSURED"', (t) => {
  const cap = new CaptureBuilder().tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 80).pcap();
  t.deepEqual(replayCapture(cap, 'c.pcap', small()).states, { 'tcp ESTABLISHED ASSURED': 1 });
});

// The done-when. "Default buckets" is the kernel's default table (262144 buckets for
// the default 24 GiB host), with nf_conntrack_max lowered by sysctl, which leaves the bucket
// count alone (§1.2), as in the example `--sysctl nf_conntrack_max=1024 --idle 75`.
// The table is then sparse (1024 entries in 262144 buckets): the 8-bucket early_drop scan
// usually finds nothing, the packet is dropped and the gc's 95% flag is raised.
const flood1k = new CaptureBuilder().synFlood(T0, 4000, 50).pcap();

test('done-when: spoofed SYN flood > nf_conntrack_max, default buckets: mostly drop, a few early_drop; gc 95% after --idle 75', (t) => {
  const max = 1024;
  const r = replayCapture(flood1k, 'flood.pcap', { sysctl: { nf_conntrack_max: max } });
  t.is(r.buckets, 262144);
  t.true(r.stats.early_drop > 0);
  t.true(r.stats.drop > 10 * r.stats.early_drop, JSON.stringify(r.stats));
  t.is(r.count, max);
  const idle = replayCapture(flood1k, 'flood.pcap', { sysctl: { nf_conntrack_max: max }, idleSeconds: 75 });
  t.true(idle.model.gc_early_drop > 0);
  t.true(idle.count < threshold95(max), `count ${idle.count} < ${threshold95(max)}`);
  t.is(idle.count, threshold95(max) - 1, 'the gc stops evicting right below the threshold');
  t.is(idle.stats.early_drop, r.stats.early_drop, 'gc evictions are not counted in early_drop (§2.3)');
  t.deepEqual(idle.states, { 'tcp SYN_SENT UNREPLIED': idle.count });
});

test('done-when: with few buckets (max/buckets = 2) early_drop always finds victims: no drop, no 95% mode', (t) => {
  const r = replayCapture(flood1k, 'flood.pcap', { sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 512 }, idleSeconds: 75 });
  t.is(r.stats.drop, 0);
  t.true(r.stats.early_drop > 0);
  t.is(r.model.gc_early_drop, 0);
  t.true(r.count > threshold95(1024));
});

// With buckets = max (the kernel's own default pairing) a full table holds ~2 nodes per
// bucket: the 8-bucket scan practically always finds an unassured entry (P(8 empty) ≈ e^-16),
// so a pure SYN flood causes no drop either, and the 95% mode never starts.
test('pure SYN flood with buckets = max: evictions make room for every SYN, nothing dropped', (t) => {
  const cap = new CaptureBuilder().synFlood(T0, 12000, 50).pcap();
  const sysctl = { nf_conntrack_max: 4096, nf_conntrack_buckets: 4096 };
  const r = replayCapture(cap, 'flood.pcap', { sysctl, idleSeconds: 75 });
  t.is(r.stats.drop, 0);
  t.is(r.stats.early_drop, r.model.allocated - r.count);
  t.is(r.model.gc_early_drop, 0);
  t.is(r.count, 4096, 'SYN_SENT lasts 120 s: nothing expires within 75 s');
  const later = replayCapture(cap, 'flood.pcap', { sysctl, idleSeconds: 130 });
  t.is(later.count, 0, 'all reaped by the gc after 120 s');
  t.is(later.model.reaped_gc, 4096);
});

// One armed gc invocation evicts at most GC_SCAN_EXPIRED_MAX + 1 entries and then requeues
// after 1 jiffy, which clears the flag (§3.2 step 6). At max 4096 the 95% mode must evict 297
// (4096 → 3799): HZ 250 allows 257, so the kernel stops at 3839; HZ 100 allows 641.
test('95% mode after a flood at max 4096: stops at max − 257 with HZ 250, goes below the threshold with HZ 100', (t) => {
  const cap = new CaptureBuilder().synFlood(T0, 12000, 50).pcap();
  const o = (hz: number): ReplayOptions => ({ hz, sysctl: { nf_conntrack_max: 4096 }, idleSeconds: 75 });
  const hz250 = replayCapture(cap, 'flood.pcap', o(250));
  t.true(hz250.stats.drop > hz250.stats.early_drop);
  t.is(hz250.model.gc_early_drop, gcScanExpiredMax(250) + 1);
  t.is(hz250.count, 4096 - 257);
  const hz100 = replayCapture(cap, 'flood.pcap', o(100));
  t.is(hz100.count, threshold95(4096) - 1);
});

test('SYN flood into a table of TIME_WAIT entries (ASSURED: early_drop skips them, the 95% mode evicts them)', (t) => {
  const max = 2048;
  const b = new CaptureBuilder();
  for (let i = 0; i < max - 8; i++) b.tcpConnection(T0 + i * 100, clientAddr(i), 30000 + (i % 1000), '192.0.2.80', 80, { close: true, gapUs: 20 });
  const cap = b.synFlood(T0 + 2 * S, 6000, 50).pcap();
  const sysctl = { nf_conntrack_max: max, nf_conntrack_buckets: max };
  const r = replayCapture(cap, 'tw.pcap', { sysctl, idleSeconds: 75 });
  t.true(r.stats.drop > 10 * r.stats.early_drop, JSON.stringify(r.stats));
  t.true(r.model.gc_early_drop > 0);
  t.is(r.count, threshold95(max) - 1);
  t.true(r.states['tcp TIME_WAIT ASSURED']! < max - 8);
});

test('UDP request/response: timeline at every second, "udp -" entries, gc reaps them after 30 s', (t) => {
  const b = new CaptureBuilder();
  for (let i = 0; i < 10; i++) {
    const c = `10.0.1.${i + 1}`;
    b.add(T0 + i * S, { src: c, dst: '192.0.2.53', sport: 5000 + i, dport: 53, udp: {}, payloadLen: 30 });
    b.add(T0 + i * S + 800, { src: '192.0.2.53', dst: c, sport: 53, dport: 5000 + i, udp: {}, payloadLen: 90 });
  }
  const cap = b.pcap();
  const r = replayCapture(cap, 'dns.pcap', small());
  t.deepEqual(r.states, { 'udp -': 10 });
  t.deepEqual(r.timeline, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9], [9, 10], [9.0008, 10]]);
  t.is(r.durationSeconds, 9.0008);
  const idle = replayCapture(cap, 'dns.pcap', small({ idleSeconds: 100, sampleSeconds: 10 }));
  t.is(idle.timeline.length, 12);
  t.deepEqual(idle.timeline[0], [0, 1]);
  t.deepEqual(idle.timeline[1], [10, 10]);
  t.deepEqual(idle.timeline[idle.timeline.length - 1], [109.0008, 0]);
  t.is(idle.model.reaped_gc, 10);
});

test('non-IP frames, fragments, cut link headers and bad IP headers are skipped and counted', (t) => {
  const b = new CaptureBuilder().arp(T0);
  b.frames.push({ tsUs: T0 + 1, data: encodeNonIpFrame(0x88cc, new Uint8Array(30)) }); // LLDP
  b.add(T0 + 2, { src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, udp: {} });
  b.add(T0 + 3, { src: '10.0.0.1', dst: '10.0.0.2', udp: {}, payloadLen: 16, frag: { offset: 8, more: false, id: 9 } });
  b.frames.push({ tsUs: T0 + 4, data: new Uint8Array(10) }); // shorter than an Ethernet header
  const ip = encodeFrame({ src: '10.0.0.1', dst: '10.0.0.2', udp: {}, pad: false });
  b.frames.push({ tsUs: T0 + 5, data: ip.subarray(0, 14 + 12) }); // IPv4 header cut at 12 bytes
  const r = replayCapture(b.pcap(), 'mixed.pcap', small());
  t.is(r.frames, 6);
  t.is(r.nonIp, 2);
  t.is(r.ipPackets, 1);
  t.is(r.fragments, 1);
  t.is(r.truncatedLink, 1);
  t.is(r.badIpHeader, 1);
  t.deepEqual(r.states, { 'udp - UNREPLIED': 1 });
  t.is(r.stats.invalid, 0);
});

test('timestamps going back: processed at the current time and counted', (t) => {
  const b = new CaptureBuilder();
  b.add(T0, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, udp: {} });
  b.add(T0 + 5 * S, { src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, udp: {} });
  b.add(T0 + 2 * S, { src: '10.0.0.1', dst: '10.0.0.2', sport: 5, dport: 6, udp: {} });
  const r = replayCapture(b.pcap(), 'r.pcap', small());
  t.is(r.reordered, 1);
  t.deepEqual(r.timeline, [[0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 3]]);
});

test('boot 60 s before the first packet: the gc runs at boot + 1 s, then ~60 s later (≈ 1 s after the first packet)', (t) => {
  const cap = new CaptureBuilder().add(T0, { src: '10.0.0.1', dst: '10.0.0.2', udp: {} }).pcap();
  t.is(replayCapture(cap, 'one.pcap', small({ idleSeconds: 0.99 })).model.gc_runs, 1);
  t.is(replayCapture(cap, 'one.pcap', small({ idleSeconds: 1 })).model.gc_runs, 2);
});

test('pcapng input and checksum verification per nf_conntrack_checksum', (t) => {
  const bad = encodeFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, udp: {}, badChecksum: true });
  const cap = writePcapng([{ tsUs: T0, data: bad }], 1);
  const on = replayCapture(cap, 'bad.pcapng', small());
  t.is(on.malformed, 1);
  t.is(on.stats.invalid, 1);
  t.is(on.count, 0);
  const off = replayCapture(cap, 'bad.pcapng', small({ sysctl: { nf_conntrack_checksum: 0 } }));
  t.is(off.count, 1);
});

test('empty capture: samples over the idle time only', (t) => {
  const r = replayCapture(writePcap([], 1), 'empty.pcap', small({ idleSeconds: 2 }));
  t.is(r.frames, 0);
  t.deepEqual(r.timeline, [[0, 0], [1, 0], [2, 0]]);
});

test('determinism: the same capture and seed give identical results', (t) => {
  const o: ReplayOptions = { seed: 42, sysctl: { nf_conntrack_max: 1024 }, idleSeconds: 70, events: true };
  const cap = flood1k;
  const a = JSON.stringify(replayCapture(cap, 'd.pcap', o));
  const b = JSON.stringify(replayCapture(cap, 'd.pcap', o));
  t.is(a, b);
  const other = replayCapture(cap, 'd.pcap', { ...o, seed: 43 });
  t.not(JSON.stringify(other), a, 'the seed keys the bucket hash');
});
