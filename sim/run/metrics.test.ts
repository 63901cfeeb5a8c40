import test from 'ava';
import { createConntrack } from '../conntrack/create.js';
import { LIFETIME_BOUNDS_S, Metrics } from './metrics.js';

/** The histogram's definition, in seconds: the first bound the lifetime does not exceed. */
function bySeconds(lifeJ: number, hz: number): number {
  const s = lifeJ / hz;
  let b = 0;
  while (b < LIFETIME_BOUNDS_S.length && s > LIFETIME_BOUNDS_S[b]!) b++;
  return b;
}

for (const hz of [100, 250, 300, 1000]) {
  test(`lifetime buckets (jiffies, binary search) agree with the definition in seconds at every bound and bound + 1 jiffy, HZ ${hz}`, (t) => {
    const ct = createConntrack({ hz, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
    const m = new Metrics(ct, []);
    const probes = [-5, -1, 0, 1];
    for (const b of LIFETIME_BOUNDS_S) probes.push(b * hz - 1, b * hz, b * hz + 1);
    probes.push(86400 * hz * 10, 2 ** 31 - 1);
    for (const j of probes) t.is(m.lifetimeBucket(j), bySeconds(j, hz), `${j} jiffies`);
    // the bucket boundaries themselves: exactly 1 s is in the first bucket, 1 s + 1 jiffy in the second
    t.is(m.lifetimeBucket(hz), 0);
    t.is(m.lifetimeBucket(hz + 1), 1);
    t.is(m.lifetimeBucket(86400 * hz + 1), LIFETIME_BOUNDS_S.length, 'past the last bound: the open bucket');
  });
}
