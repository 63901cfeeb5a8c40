/**
 * nf_conntrack_acct and nf_conntrack_timestamp (docs/model.md §14.5): per-direction counters,
 * delta-time, their lines in `conntrack -L` and DESTROY events, and their memory (§10.2).
 *
 * The expected lines were recorded from a 6.18 kernel with conntrack-tools 1.4.7 in a
 * throwaway network namespace (both sysctls are per-netns): a loopback TCP connection
 * (client sends 100 bytes, server answers 10, client closes first) and one unanswered UDP
 * datagram of 5 bytes, listed with `conntrack -L`, then `conntrack -F` under
 * `conntrack -E -o timestamp`. The packets below are that connection's, with the lengths
 * the kernel counted (SYN and SYN-ACK 60 bytes with options, bare segments 52, data + 52).
 */
import test from 'ava';
import { AddrInterner } from './addr.js';
import { createConntrack } from './create.js';
import type { Conntrack } from './conntrack.js';
import { EventLog } from './events-log.js';
import { listEntries } from './listing.js';
import { Pkt } from './packet.js';
import { REASON_FLUSH } from './stats.js';
import { entryKernelBytes, NF_CONN_SLAB_BYTES } from './sizing.js';
import { ip, send, tcp, udp } from './testing.js';

const LO = ip(127, 0, 0, 1);
/** Wall-clock µs of the recorded SYN (the `[NEW]` event's timestamp). */
const EPOCH = 1796294355838996;

function mk(sysctl: Record<string, number>, events = false): Conntrack {
  return createConntrack({ hz: 250, seed: 1, eventListener: events, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024, ...sysctl } });
}

/** The recorded session; returns [tcp slot, udp slot]. Times are µs since the SYN. */
function session(ct: Conntrack): [number, number] {
  const p = new Pkt();
  const seg = (us: number, fromClient: boolean, flags: string, seq: number, ack: number, len: number, data = 0): void => {
    if (fromClient) tcp(p, LO, 44900, LO, 8080, flags, seq, ack, 65483, data);
    else tcp(p, LO, 8080, LO, 44900, flags, seq, ack, 65483, data);
    p.len = len;
    send(ct, us, p);
  };
  seg(0, true, 'S', 1000, 0, 60);
  const t = ct.lastSlot;
  seg(59, false, 'SA', 5000, 1001, 60);
  seg(64, true, 'A', 1001, 5001, 52);
  seg(100, true, 'A', 1001, 5001, 152, 100);
  seg(120, false, 'A', 5001, 1101, 52);
  seg(150, false, 'A', 5001, 1101, 62, 10);
  seg(170, true, 'A', 1101, 5011, 52);
  seg(302876, true, 'FA', 1101, 5011, 52);
  udp(p, LO, 54830, LO, 5353);
  p.len = 33;
  send(ct, 300497, p);
  const u = ct.lastSlot;
  seg(302897, false, 'FA', 5011, 1102, 52);
  seg(302902, true, 'A', 1102, 5012, 52);
  return [t, u];
}

test('§14.5 acct + timestamp: conntrack -L lines exactly as a 6.18 kernel with conntrack-tools 1.4.7 printed them', (t) => {
  const ct = mk({ nf_conntrack_acct: 1, nf_conntrack_timestamp: 1 });
  const [tc, u] = session(ct);
  t.deepEqual([ct.acctPackets![tc * 2], ct.acctBytes![tc * 2], ct.acctPackets![tc * 2 + 1], ct.acctBytes![tc * 2 + 1]], [6, 420, 4, 226]);
  t.deepEqual([ct.acctPackets![u * 2], ct.acctBytes![u * 2], ct.acctPackets![u * 2 + 1], ct.acctBytes![u * 2 + 1]], [1, 33, 0, 0]);
  ct.setNow(321000); // the listing ran 0.32 s after the SYN
  const lines = listEntries(ct, new AddrInterner(), EPOCH).sort();
  t.deepEqual(lines, [
    'tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=44900 dport=8080 packets=6 bytes=420 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=44900 packets=4 bytes=226 [ASSURED] mark=0 delta-time=1 use=1',
    'udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=54830 dport=5353 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=54830 packets=0 bytes=0 mark=0 delta-time=0 use=1',
  ]);
});

test('§14.5 DESTROY events carry the counters and delta-time; NEW/UPDATE events do not (recorded conntrack -E -o timestamp lines)', (t) => {
  const ct = mk({ nf_conntrack_acct: 1, nf_conntrack_timestamp: 1 }, true);
  const log = new EventLog(ct, new AddrInterner(), { epochOffsetUs: EPOCH });
  ct.observer = log;
  session(ct);
  ct.setNow(326403); // the flush (the UDP entry's DESTROY at …356.165399)
  ct.flush(REASON_FLUSH);
  const lines = log.text().trimEnd().split('\n');
  t.is(lines[0], '[1796294355.838996]\t    [NEW] tcp      6 120 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=44900 dport=8080 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=44900');
  const destroys = lines.filter((l) => l.includes('[DESTROY]')).map((l) => l.slice(l.indexOf('\t') + 1)).sort();
  // the kernel's lines end with " [USERSPACE] portid=… progname=conntrack" (who flushed), which the model does not print
  t.deepEqual(destroys, [
    '[DESTROY] tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=44900 dport=8080 packets=6 bytes=420 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=44900 packets=4 bytes=226 [ASSURED] delta-time=1',
    '[DESTROY] udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=54830 dport=5353 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=54830 packets=0 bytes=0 delta-time=0',
  ]);
  for (const l of lines.filter((x) => !x.includes('[DESTROY]'))) t.false(/packets=|delta-time=/.test(l), l);
});

test('§14.5 delta-time truncates start and stop to whole epoch seconds before subtracting', (t) => {
  const ct = mk({ nf_conntrack_timestamp: 1 });
  const p = new Pkt();
  send(ct, 900_000, udp(p, ip(10, 0, 0, 1), 1, ip(10, 0, 0, 2), 53)); // start at epoch 0.9 s
  ct.setNow(1_100_000); // 0.2 s later but in the next second
  t.regex(listEntries(ct, new AddrInterner())[0]!, / mark=0 delta-time=1 use=1$/);
  ct.setNow(1_950_000); // 1.05 s after the start
  t.regex(listEntries(ct, new AddrInterner())[0]!, / delta-time=1 use=1$/); // 1 - 0
  t.regex(listEntries(ct, new AddrInterner(), 60_000)[0]!, / delta-time=2 use=1$/); // start 0.96 → 0, stop 2.01 → 2
  t.regex(listEntries(ct, new AddrInterner(), 100_000)[0]!, / delta-time=1 use=1$/); // start 1.0 → 1, stop 2.05 → 2
});

test('§14.5 without the sysctls the lines are unchanged and no per-entry arrays exist', (t) => {
  const ct = mk({});
  const [tc] = session(ct);
  t.is(ct.acctPackets, null);
  t.is(ct.tstampStart, null);
  t.false(ct.hasAcct(tc));
  ct.setNow(321000);
  t.is(listEntries(ct, new AddrInterner()).sort()[0], 'tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=44900 dport=8080 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=44900 [ASSURED] mark=0 use=1');
});

test('§14.5 ignored packets and SYN retransmissions are not counted (no nf_ct_refresh_acct); an RST answer is (nf_ct_kill_acct)', (t) => {
  const ct = mk({ nf_conntrack_acct: 1 }, true);
  let destroyLine = '';
  const log = new EventLog(ct, new AddrInterner());
  ct.observer = { event: (s, m) => { const l = log.format(s, m); if (l.includes('DESTROY')) destroyLine = l; } };
  const p = new Pkt();
  send(ct, 0, tcp(p, ip(10, 0, 0, 1), 1000, ip(10, 0, 0, 2), 80, 'S', 1000));
  const s = ct.lastSlot;
  send(ct, 1_000_000, tcp(p, ip(10, 0, 0, 1), 1000, ip(10, 0, 0, 2), 80, 'S', 1000)); // retransmitted SYN
  t.deepEqual([ct.acctPackets![s * 2], ct.acctBytes![s * 2]], [1, 40]);
  send(ct, 1_100_000, tcp(p, ip(10, 0, 0, 2), 80, ip(10, 0, 0, 1), 1000, 'RA', 0, 1001));
  t.is(ct.count, 0);
  t.regex(destroyLine, /sport=1000 dport=80 packets=1 bytes=40 \[UNREPLIED\] src=10\.0\.0\.2 dst=10\.0\.0\.1 sport=80 dport=1000 packets=1 bytes=40$/);
});

test('§10.2/§14.5 memory: acct 32 B and tstamp 16 B share the 128-byte extension area; an entry created before a sysctl write keeps its size', (t) => {
  // hand-computed: 256 B slab; ext area = 16 header + payloads, at least 128 (kmalloc-128)
  t.is(entryKernelBytes({ acct: false, ecache: false, tstamp: false, timeout: false }), 256);
  t.is(entryKernelBytes({ acct: true, ecache: false, tstamp: false, timeout: false }), 256 + 128);
  t.is(entryKernelBytes({ acct: true, ecache: true, tstamp: true, timeout: false }), 256 + 128); // 16+32+32+16 = 96
  t.is(entryKernelBytes({ acct: true, ecache: true, tstamp: true, timeout: true, helper: true }), 256 + 192); // 96+8+56 = 160
  const base = mk({});
  const withExt = mk({ nf_conntrack_acct: 1, nf_conntrack_timestamp: 1 });
  t.is(base.entryBytes, NF_CONN_SLAB_BYTES);
  t.is(withExt.entryBytes, NF_CONN_SLAB_BYTES + 128);
  const p = new Pkt();
  const b0 = base.kernelBytes();
  send(base, 0, udp(p, ip(10, 0, 0, 1), 1, ip(10, 0, 0, 2), 53));
  t.is(base.kernelBytes() - b0, 256);
  // acct switched on mid-run: only entries created afterwards carry the extension
  base.setSysctl('nf_conntrack_acct', 1);
  send(base, 1, udp(p, ip(10, 0, 0, 3), 1, ip(10, 0, 0, 2), 53));
  t.is(base.kernelBytes() - b0, 256 + 384);
  const w0 = withExt.kernelBytes();
  send(withExt, 0, udp(p, ip(10, 0, 0, 1), 1, ip(10, 0, 0, 2), 53));
  withExt.setSysctl('nf_conntrack_acct', 0);
  withExt.setSysctl('nf_conntrack_timestamp', 0);
  send(withExt, 1, udp(p, ip(10, 0, 0, 3), 1, ip(10, 0, 0, 2), 53));
  t.is(withExt.kernelBytes() - w0, 384 + 256);
  // freeing returns exactly what each entry cost
  withExt.flush(REASON_FLUSH);
  base.flush(REASON_FLUSH);
  t.is(withExt.kernelBytes(), w0);
  t.is(base.kernelBytes(), b0);
});
