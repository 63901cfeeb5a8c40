/**
 * `ctsim replay --ruleset` with filter and raw chains (docs/rules.md §8): the rules run on the
 * capture in the kernel's order, and the result carries per-rule counters.
 */
import test from 'ava';
import { replayCapture } from '../replay/replay.js';
import { CaptureBuilder, T0 } from '../replay/testkit.js';
import { formatReplayTable } from '../cli/replay-command.js';
import { loadRuleset } from './index.js';

const small = { sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } };

test('notrack in raw: no entry for the notrack\'d connection; per-rule counters in the result and the text report', (t) => {
  const cap = new CaptureBuilder()
    .tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 80, { close: true })
    .tcpConnection(T0 + 10_000, '10.0.0.1', 40001, '192.0.2.80', 22, { close: true })
    .pcap();
  const rs = loadRuleset('table inet raw {\n chain pre {\n  type filter hook prerouting priority raw;\n  tcp dport 80 notrack\n  tcp sport 80 notrack\n }\n}\n', 'nt.nft', undefined);
  const r = replayCapture(cap, 'c.pcap', { ...small, ruleset: rs });
  t.is(r.count, 1, 'only the port 22 connection has an entry');
  t.is(r.model.notrack, 7, 'all 7 packets of the port 80 connection were untracked');
  t.deepEqual(r.rules!.map((x) => [x.line, x.chain, x.hook, x.packets, x.drops]), [[4, 'pre', 'prerouting', 4, 0], [5, 'pre', 'prerouting', 3, 0]]);
  t.is(rs.packets[0], 0, 'the caller\'s ruleset object keeps zero counters (the replay uses its own copy)');
  const text = formatReplayTable(r);
  t.regex(text, /\nrules {5}\(ruleset line/);
  t.regex(text, /\n {2}4 {2}inet raw\/pre prerouting {2}packets 4 bytes \d+ drops 0 {2}tcp dport 80 notrack\n/);
});

test('a forward drop and a reject count per rule; rejected packets are reported apart from dropped ones', (t) => {
  const cap = new CaptureBuilder()
    .tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 23)
    .tcpConnection(T0 + 10_000, '10.0.0.1', 40001, '192.0.2.80', 25)
    .pcap();
  const rs = loadRuleset('table inet f {\n chain fwd {\n  type filter hook forward priority filter;\n  tcp dport 23 counter drop\n  tcp dport 25 reject with tcp reset\n }\n}\n', 'f.nft', undefined);
  const r = replayCapture(cap, 'c.pcap', { ...small, ruleset: rs });
  t.is(r.count, 0);
  // each connection: SYN (client), SYN-ACK (server, a new flow seen from the other side), ACK
  t.true(r.dropped >= 1);
  t.true(r.rejected >= 1);
  t.is(r.rules![0]!.drops, r.rules![0]!.packets);
  t.is(r.rules![1]!.drops, r.rules![1]!.packets);
  t.is(r.rejected, r.rules![1]!.drops);
  t.is(r.model.reject_sent, r.rejected);
});
