/**
 * `reject` (docs/rules.md §8.8): the rejected packet is dropped, an RST or ICMP error goes back
 * through conntrack as the kernel sends it (nf_reject_ipv4.c: nf_send_reset() attaches the RST
 * to the rejected packet's entry as RELATED_REPLY; icmp_send()'s error is looked up like any
 * ICMP error), and the clients learn of it at once.
 */
import test from 'ava';
import { IP_CT_ESTABLISHED_REPLY, NF_DROP, NF_REJECT, type Conntrack } from '../conntrack/conntrack.js';
import { IPS_CONFIRMED } from '../conntrack/constants.js';
import { createConntrack } from '../conntrack/create.js';
import { Pkt } from '../conntrack/packet.js';
import { TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_ESTABLISHED } from '../conntrack/proto-tcp-const.js';
import { ip, send, tcp, udp } from '../conntrack/testing.js';
import { Harness } from '../traffic/harness.js';
import { FAIL_RESET } from '../traffic/generator.js';
import { loadRuleset, setupRules } from './index.js';

const A = ip(10, 0, 0, 2), B = ip(192, 0, 2, 10);

function fw(rules: string, version = '6.12', sysctl: Record<string, number> = {}): { ct: Conntrack } {
  const ct = createConntrack({ version, seed: 3, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 256, ...sysctl } });
  setupRules(ct, loadRuleset(rules, 'fw.nft', undefined).clone(), undefined);
  return { ct };
}
const fwd = (body: string, extra = '') => `table inet f {\n chain fwd {\n  type filter hook forward priority filter;\n  ${body}\n }\n${extra}}\n`;
const S = (ct: Conntrack) => ({ invalid: ct.stats.invalid, error: ct.stats.error, drop: ct.stats.drop, related: ct.stats.related, reject_sent: ct.stats.reject_sent });

test('reject with tcp reset of a SYN: the RST rides on the unconfirmed entry (RELATED_REPLY, never confirmed); nothing in conntrack -S', (t) => {
  const { ct } = fw(fwd('tcp dport 23 reject with tcp reset'));
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 23, 'S')), NF_REJECT);
  t.is(ct.lastVerdict, NF_REJECT);
  t.is(ct.count, 0);
  t.deepEqual(S(ct), { invalid: 0, error: 0, drop: 0, related: 0, reject_sent: 1 });
  t.is(ct.stats.allocated, 1, 'only the SYN\'s entry was allocated; the RST made none');
});

test('reject (icmp port-unreachable) of a first UDP packet: the ICMP error finds no confirmed entry and counts in conntrack -S error', (t) => {
  const { ct } = fw(fwd('udp dport 53 reject'));
  const p = new Pkt();
  t.is(send(ct, 0, udp(p, A, 5000, B, 53)), NF_REJECT);
  t.is(ct.count, 0);
  t.deepEqual(S(ct), { invalid: 0, error: 1, drop: 0, related: 0, reject_sent: 1 });
});

test('reject of a packet of a confirmed flow: the ICMP error is RELATED to its entry; the RST (v6.12) closes a TCP entry (nf_conntrack_tcp_set_closing)', (t) => {
  const { ct } = fw(fwd('ct mark 0 udp dport 53 ct state established reject with icmp type admin-prohibited\n  tcp dport 22 ct state established tcp flags & (syn|ack) == ack reject with tcp reset'));
  const p = new Pkt();
  send(ct, 0, udp(p, A, 5000, B, 53));
  send(ct, 10, udp(p, B, 53, A, 5000));
  t.is(send(ct, 20, udp(p, A, 5000, B, 53)), NF_REJECT);
  t.deepEqual(S(ct), { invalid: 0, error: 0, drop: 0, related: 1, reject_sent: 1 });
  // TCP: handshake, then a data ACK is rejected with an RST
  send(ct, 100, tcp(p, A, 40000, B, 22, 'S', 1000));
  send(ct, 110, tcp(p, B, 22, A, 40000, 'SA', 5000, 1001));
  t.is(ct.lastCtinfo, IP_CT_ESTABLISHED_REPLY);
  const slot = ct.lastSlot;
  t.is(send(ct, 120, tcp(p, A, 40000, B, 22, 'A', 1001, 5001)), NF_REJECT, 'the handshake ACK is rejected');
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_CLOSE);
  t.is(ct.remaining(slot), 10 * ct.hz, 'CLOSE timeout (10 s)');
  t.not(ct.table.statusOf(slot) & IPS_CONFIRMED, 0);
});

test('before v6.12 the model leaves the entry\'s TCP state to the tracker when a reject answers it', (t) => {
  const { ct } = fw(fwd('tcp dport 22 tcp flags & (syn|ack) == ack reject with tcp reset'), '6.6');
  const p = new Pkt();
  send(ct, 100, tcp(p, A, 40000, B, 22, 'S', 1000));
  send(ct, 110, tcp(p, B, 22, A, 40000, 'SA', 5000, 1001));
  const slot = ct.lastSlot;
  t.is(send(ct, 120, tcp(p, A, 40000, B, 22, 'A', 1001, 5001)), NF_REJECT);
  t.is(ct.tcp.stateOf(slot), TCP_CONNTRACK_ESTABLISHED, 'the tracker saw the ACK before the filter rejected it');
});

test('an RST for a packet without an entry meets conntrack as a bare RST at LOCAL_OUT: refused (invalid)', (t) => {
  const { ct } = fw(fwd('meta l4proto tcp ct state invalid reject with tcp reset'), '6.12', { nf_conntrack_tcp_loose: 0 });
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 80, 'A', 1, 1)), NF_REJECT);
  t.deepEqual(S(ct), { invalid: 2, error: 0, drop: 0, related: 0, reject_sent: 1 });
  t.is(ct.count, 0);
});

test('no answer is sent for an RST, nor by tcp reset for UDP, and an output rule can drop the answer: then the sender sees a plain drop', (t) => {
  const { ct } = fw(fwd('tcp dport 23 reject with tcp reset', ' chain out {\n  type filter hook output priority filter;\n  tcp flags rst drop\n }\n'));
  const p = new Pkt();
  t.is(send(ct, 0, tcp(p, A, 40000, B, 23, 'S')), NF_DROP);
  t.is(ct.lastVerdict, NF_DROP);
  t.is(ct.stats.reject_sent, 0);
  t.is(send(ct, 0, tcp(p, A, 40001, B, 23, 'R')), NF_DROP, 'no RST in answer to an RST');
});

test('bad reject statements exit with file:line:col (reject only at input/forward/output; tcp reset needs a TCP match)', (t) => {
  const err = (text: string) => { try { loadRuleset(text, 'r.nft', undefined); return 'no error'; } catch (e) { return (e as Error).message; } };
  t.is(err('table ip f {\n chain c {\n  type filter hook postrouting priority 0;\n  reject\n }\n}\n'), 'r.nft:4:3: reject is not allowed at hook postrouting; it runs at input, forward, output (nft_reject_validate())');
  t.is(err(fwd('reject with tcp reset')), 'r.nft:4:3: reject with tcp reset needs a TCP match before it in the rule (e.g. meta l4proto tcp, tcp dport 80), as nft requires');
  t.is(err(fwd('reject with icmp type bogus')), 'r.nft:4:25: unknown icmp reject type "bogus"; supported: net-unreachable, host-unreachable, prot-unreachable, port-unreachable, net-prohibited, host-prohibited, admin-prohibited, frag-needed');
  t.is(err(fwd('reject with icmpx type admin-prohibited')), 'no error');
});

test('clients learn of a reject at once: tcp-clients and udp-request-response fail the flows as reset, without retries', (t) => {
  const h = new Harness({ memory: 1 << 30, endUs: 60e6, record: true });
  setupRules(h.ct, loadRuleset(fwd('meta l4proto tcp reject with tcp reset\n  meta l4proto udp reject'), 'fw.nft', undefined).clone(), undefined);
  const tc = h.add('tcp-clients', { rate: { shape: 'constant', rate: 10 }, stop: '1s' });
  const uc = h.add('udp-request-response', { rate: { shape: 'constant', rate: 10 }, stop: '1s' });
  h.run(30e6);
  t.like(tc.outcomes, { started: 10, failed: 10, succeeded: 0 });
  t.is(tc.outcomes.failedBy[FAIL_RESET], 10);
  t.is(tc.outcomes.packets, 10, 'one SYN each: no retransmission after the RST');
  t.like(uc.outcomes, { started: 10, failed: 10, succeeded: 0 });
  t.is(uc.outcomes.failedBy[FAIL_RESET], 10);
  t.is(uc.outcomes.packets, 10, 'one query each: no re-send after the ICMP error');
});
