import test from 'ava';
import { parseSynproxyStat } from './parse-synproxy.js';
import { modelSynproxyPlan } from './cases-synproxy.js';

test('docs/synproxy.md §8 /proc/net/stat/synproxy: hex columns summed over CPUs', (t) => {
  const text = 'entries\t\tsyn_received\tcookie_invalid\tcookie_valid\tcookie_retrans\tconn_reopened\n'
    + '00000000\t00000191\t00000000\t00000001\t00000000\t00000000\n'
    + '00000000\t00000002\t00000000\t00000002\t00000000\t00000000\n';
  t.deepEqual(parseSynproxyStat(text), { entries: 0, syn_received: 0x191 + 2, cookie_invalid: 0, cookie_valid: 3, cookie_retrans: 0, conn_reopened: 0 });
  t.throws(() => parseSynproxyStat('entries syn_received\n0 0\n'), { message: /unexpected header/ });
  t.throws(() => parseSynproxyStat(text + 'zz 1 2 3 4 5\n'), { message: /bad line/ });
});

test('docs/synproxy.md §1 the synproxy-flood case model: 400 spoofed SYNs leave nothing, 3 clients connect', (t) => {
  const m = modelSynproxyPlan({ max: 262144, buckets: 262144 });
  t.like(m.synproxy, { syn_received: 403, cookie_valid: 3, cookie_invalid: 0 });
  t.deepEqual(m.states, { 'tcp TIME_WAIT ASSURED': 3 });
  // every cookie SYN-ACK passes conntrack without an entry (invalid), and so does each client ACK
  t.deepEqual(m.stats, { invalid: 403 + 3, drop: 0 });
  t.is(m.connected, 3);
});
