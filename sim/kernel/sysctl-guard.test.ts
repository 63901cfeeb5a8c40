import test from 'ava';
import { GlobalSysctlGuard, UnsafeSysctlError, type SysctlFs } from './sysctl-guard.js';

function fakeFs(init: Record<string, string>): SysctlFs & { values: Record<string, string>; writes: string[] } {
  const values = { ...init };
  const writes: string[] = [];
  return {
    values, writes,
    read: (n) => { if (!(n in values)) throw new Error(`no ${n}`); return values[n]; },
    write: (n, v) => { writes.push(`${n}=${v}`); values[n] = v; },
  };
}

test('changes globals only while the initial namespace tracks nothing, and restores them', (t) => {
  const fs = fakeFs({ nf_conntrack_count: '0', nf_conntrack_max: '262144', nf_conntrack_buckets: '262144' });
  const g = new GlobalSysctlGuard(fs);
  g.set('nf_conntrack_max', 99);
  g.set('nf_conntrack_buckets', 512);
  g.set('nf_conntrack_max', 100);
  t.is(fs.values.nf_conntrack_max, '100');
  t.true(g.changed);
  t.deepEqual(g.restore(), []);
  t.is(fs.values.nf_conntrack_max, '262144');
  t.is(fs.values.nf_conntrack_buckets, '262144');
  // latest first: buckets then max
  t.deepEqual(fs.writes.slice(3), ['nf_conntrack_buckets=262144', 'nf_conntrack_max=262144']);
  t.false(g.changed);
  t.deepEqual(g.restore(), []);
  t.is(fs.writes.length, 5);
});

test('refuses to change anything when the initial namespace tracks connections', (t) => {
  const fs = fakeFs({ nf_conntrack_count: '3', nf_conntrack_max: '262144', nf_conntrack_buckets: '262144' });
  const g = new GlobalSysctlGuard(fs);
  t.throws(() => g.set('nf_conntrack_max', 99), { instanceOf: UnsafeSysctlError, message: /tracks 3/ });
  t.deepEqual(fs.writes, []);
  t.false(g.changed);
});

test('restores even when the count has grown meanwhile', (t) => {
  const fs = fakeFs({ nf_conntrack_count: '0', nf_conntrack_max: '262144', nf_conntrack_buckets: '262144' });
  const g = new GlobalSysctlGuard(fs);
  g.set('nf_conntrack_max', 99);
  fs.values.nf_conntrack_count = '50';
  t.deepEqual(g.restore(), []);
  t.is(fs.values.nf_conntrack_max, '262144');
});

test('a failed restore is reported, not thrown, and can be retried', (t) => {
  const fs = fakeFs({ nf_conntrack_count: '0', nf_conntrack_max: '262144' });
  let fail = false;
  const g = new GlobalSysctlGuard({ read: fs.read, write: (n, v) => { if (fail) throw new Error('EPERM'); fs.write(n, v); } });
  g.set('nf_conntrack_max', 77);
  fail = true;
  const problems = g.restore();
  t.is(problems.length, 1);
  t.regex(problems[0], /nf_conntrack_max=262144: EPERM/);
  t.true(g.changed);
  fail = false;
  t.deepEqual(g.restore(), []);
  t.is(fs.values.nf_conntrack_max, '262144');
});

test('rejects values that are not positive integers', (t) => {
  const g = new GlobalSysctlGuard(fakeFs({ nf_conntrack_count: '0', nf_conntrack_max: '1' }));
  t.throws(() => g.set('nf_conntrack_max', 0), { instanceOf: RangeError });
  t.throws(() => g.set('nf_conntrack_max', 1.5), { instanceOf: RangeError });
});
