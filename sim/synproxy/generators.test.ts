import test from 'ava';
import { summariseStates } from '../conntrack/listing.js';
import { Harness } from '../traffic/harness.js';
import { SP_OPT_MSS, SP_OPT_SACK_PERM, SP_OPT_TIMESTAMP, SP_OPT_WSCALE, synproxyOf } from './synproxy.js';
import { TH_ACK, TH_SYN } from '../conntrack/constants.js';

const FULL = { mss: 1460, wscale: 7, options: SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_TIMESTAMP | SP_OPT_SACK_PERM };
const ten = { rate: { shape: 'constant', rate: 10 }, stop: '1s', hold: 1, port: 80, client_rtt: '20ms', server_rtt: '2ms' };

function harness(max = 1024, extra: Record<string, number> = {}) {
  return new Harness({
    memory: 1 << 30, endUs: 600e6, record: true, synproxy: { info: FULL, port: 80 },
    sysctl: { nf_conntrack_max: max, nf_conntrack_tcp_loose: 0, ...extra },
  });
}

test('docs/synproxy.md §9 tcp-clients behind SYNPROXY: every connection completes through the proxy and ends TIME_WAIT ASSURED', (t) => {
  const h = harness();
  const g = h.add('tcp-clients', ten);
  h.run(8e6);
  const sp = synproxyOf(h.ct)!;
  t.like(sp.stats, { syn_received: 10, cookie_valid: 10, cookie_invalid: 0, cookie_retrans: 0 });
  t.deepEqual(summariseStates(h.ct), { 'tcp TIME_WAIT ASSURED': 10 });
  t.like(g.outcomes, { started: 10, succeeded: 10, failed: 0 });
  // per connection: SYN (stolen), the client's ACK (stolen), the server SYN-ACK (stolen), then
  // the 6 packets of request, response, ack and the FIN exchange as without the proxy (where the
  // client's third ACK is folded into its request): 9, one more than the 8 without the proxy
  t.is(g.outcomes.packets, 10 * 9);
  const rows = h.packets(0);
  const [c, cp] = [rows[0]![2], rows[0]![3]];
  const first = rows.filter((r) => (r[2] === c && r[3] === cp) || (r[4] === c && r[5] === cp));
  t.deepEqual(first.slice(0, 3).map((r) => [r[6], r[10]]), [[TH_SYN, 2], [TH_ACK, 2], [TH_SYN | TH_ACK, 2]]);
  // setup time as the client sees it: SYN out, cookie SYN-ACK back: one client round trip (20 ms)
  t.is(g.outcomes.setup!.sorted().length, 10);
  t.true(g.outcomes.setup!.sorted().every((x) => x === 20_000), 'setup = one client round trip (the proxy answers)');
});

test('docs/synproxy.md §9 a spoofed SYN flood next to real clients: the flood creates no entry, the clients all connect', (t) => {
  const h = harness(64);
  h.add('syn-flood', { rate: 2000, stop: '2s', target: '10.0.0.80', port: 80 });
  const g = h.add('tcp-clients', { ...ten, server: '10.0.0.80' });
  h.run(8e6);
  const sp = synproxyOf(h.ct)!;
  t.true(sp.stats.syn_received >= 4000, `${sp.stats.syn_received}`);
  t.is(h.ct.stats.drop, 0, 'no table-full drop');
  t.like(g.outcomes, { started: 10, succeeded: 10, failed: 0 });
  // only the clients held entries, plus at most one transient entry of a cookie SYN-ACK (§3)
  t.true(h.ct.peakCount <= 11, `${h.ct.peakCount}`);
  t.is(h.ct.stats.confirmed, 10);
});

test('docs/synproxy.md §9 a full table of ASSURED entries: the proxy cannot even answer (its SYN-ACK is dropped at allocation)', (t) => {
  const h = harness(4);
  const g = h.add('tcp-clients', { ...ten, hold: 100 });
  h.run(200e6);
  g.finish!();
  const sp = synproxyOf(h.ct)!;
  t.is(h.ct.peakCount, 4);
  t.is(g.outcomes.succeeded, 4);
  t.is(g.outcomes.failedBy[0], 6, 'never_admitted: no answer to any SYN');
  // the 6 late clients: SYN + 6 retransmissions (tcp_syn_retries 6) each, every SYN-ACK dropped
  t.like(sp.stats, { syn_received: 4 + 6 * 7, cookie_valid: 4, cookie_invalid: 0 });
  t.is(h.ct.stats.drop, 6 * 7);
  t.is(h.ct.stats.invalid, 4 + 4, 'the 4 answered SYN-ACKs and the 4 client ACKs');
});
