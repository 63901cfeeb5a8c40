import test from 'ava';
import { loadRuleset, RulesetError, setupRules } from '../rules/index.js';
import { formatIssue, loadScenario } from '../scenario/load.js';
import { TEST_REGISTRY } from '../scenario/test-registry.js';
import { createConntrack } from '../conntrack/create.js';
import { NF_ACCEPT, NF_STOLEN } from '../conntrack/conntrack.js';
import { Pkt } from '../conntrack/packet.js';
import { ip, tcp } from '../conntrack/testing.js';
import { TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_SYN_SENT } from '../conntrack/proto-tcp-const.js';
import { CT_EXT_SEQADJ, CT_EXT_SYNPROXY } from '../conntrack/sizing.js';
import { Rng } from '../core/rng.js';
import { Synproxy, synproxyOf } from './synproxy.js';

const SELFTEST = `table inet filter {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 80 tcp flags syn notrack
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state new,established accept
    tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}
`;

function loadErr(text: string): string {
  try {
    loadRuleset(text, 'r.nft', undefined);
  } catch (e) {
    if (e instanceof RulesetError) return e.message;
    throw e;
  }
  return 'loaded';
}

test('docs/synproxy.md §4 the selftest shape loads; it requires nf_conntrack_tcp_loose 0 at the statement', (t) => {
  const rs = loadRuleset(SELFTEST, 'r.nft', undefined);
  t.is(rs.rules.length, 4);
  t.deepEqual(rs.requires.map((q) => [q.sysctl, q.value, q.line, q.col]), [['nf_conntrack_tcp_loose', 0, 9, 45]]);
});

test('docs/synproxy.md §4 bad input: the rule shape, the hooks and the arguments, with line and column', (t) => {
  t.regex(loadErr(SELFTEST.replace('ct state invalid,untracked synproxy', 'synproxy')), /^r\.nft:9:18: synproxy needs "ct state invalid,untracked"/);
  t.regex(loadErr(SELFTEST.replace('ct state invalid,untracked synproxy', 'ct state invalid,established synproxy')), /^r\.nft:9:47: synproxy needs "ct state invalid,untracked"/);
  t.regex(loadErr(SELFTEST.replace('tcp flags syn notrack', 'tcp flags syn accept')), /^r\.nft:9:45: synproxy needs the clients' SYNs untracked/);
  t.regex(loadErr(SELFTEST.replace('tcp flags syn notrack', 'notrack')), /SYNs untracked/, 'a notrack rule without a SYN match is not the shape');
  t.regex(loadErr(SELFTEST.replace('hook forward', 'hook postrouting')), /^r\.nft:9:45: synproxy is not allowed at hook postrouting; it runs at input or forward/);
  t.regex(loadErr(SELFTEST.replace('wscale 7', 'wscale 15')), /^r\.nft:9:\d+: expected a window scale/);
  t.regex(loadErr(SELFTEST.replace('timestamp sack-perm', 'timestamp timestamp')), /"timestamp" given twice/);
  t.regex(loadErr(SELFTEST.replace('sack-perm', 'sack-perm accept')), /follows a terminal statement \(synproxy\)/);
});

test('docs/synproxy.md §4 a scenario with synproxy but tcp_loose 1 is refused at the statement (scenario line and column)', (t) => {
  const body = (sysctl: string) => `name: x\nduration: 1s\n${sysctl}ruleset: |\n${SELFTEST.split('\n').map((l) => `  ${l}`).join('\n')}\ntraffic:\n  - kind: syn-flood\n    rate: 5\n`;
  const bad = loadScenario(body(''), 'scenarios/x.yaml', TEST_REGISTRY);
  t.false(bad.ok);
  if (!bad.ok) t.regex(formatIssue(bad.issues[0]!), /^scenarios\/x\.yaml:12:47: ruleset: synproxy needs nf_conntrack_tcp_loose: 0.*the kernel default/);
  t.true(loadScenario(body('sysctl:\n  nf_conntrack_tcp_loose: 0\n'), 'scenarios/x.yaml', TEST_REGISTRY).ok);
});

test('docs/synproxy.md §5 through the real rule path: SYN and ACK stolen, entry from the proxy SYN, SYN-ACK stolen, data adjusted', (t) => {
  const ct = createConntrack({ hz: 250, seed: 1, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024, nf_conntrack_tcp_loose: 0 } });
  const sp = new Synproxy(ct, new Rng('t'));
  setupRules(ct, loadRuleset(SELFTEST, 'r.nft', undefined).clone(), undefined);
  t.is(synproxyOf(ct), sp);
  const C = ip(192, 0, 2, 1), V = ip(10, 0, 0, 80), p = new Pkt();
  ct.setNow(1_000_000);
  tcp(p, C, 40000, V, 80, 'S', 1000, 0, 64240); p.optMss = 1460; p.optTs = true; p.tsval = 5;
  t.is(ct.packetIn(p), NF_STOLEN);
  t.is(ct.count, 0);
  const cookie = sp.toClient.seq, pts = sp.toClient.tsval;
  ct.setNow(1_020_000);
  tcp(p, C, 40000, V, 80, 'A', 1001, cookie + 1, 502); p.optTs = true; p.tsval = 25; p.tsecr = pts;
  t.is(ct.packetIn(p), NF_STOLEN);
  t.is(ct.count, 1);
  const slot = sp.serverSlot;
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_SYN_SENT);
  t.is(ct.extMaskOf(slot) & (CT_EXT_SEQADJ | CT_EXT_SYNPROXY), CT_EXT_SEQADJ | CT_EXT_SYNPROXY);
  ct.setNow(1_022_000);
  tcp(p, V, 80, C, 40000, 'SA', 7000, 1001, 65160);
  t.is(ct.packetIn(p), NF_STOLEN);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_ESTABLISHED);
  t.is(sp.toClient.seq, (cookie + 1) >>> 0);
  ct.setNow(1_060_000);
  tcp(p, C, 40000, V, 80, 'A', 1001, cookie + 1, 502, 100);
  t.is(ct.packetIn(p), NF_ACCEPT);
  t.is(p.ack, 7001, 'the client ack rewritten into the server space');
  ct.setNow(1_062_000);
  tcp(p, V, 80, C, 40000, 'A', 7001, 1101, 509, 300);
  t.is(ct.packetIn(p), NF_ACCEPT);
  t.is(p.seq, (cookie + 1) >>> 0, 'the server seq rewritten into the cookie space');
  t.like(sp.stats, { syn_received: 1, cookie_valid: 1, cookie_invalid: 0 });
});
