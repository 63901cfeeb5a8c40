import test from 'ava';
import { gzipSync } from 'node:zlib';
import { detectHz, preflight, type HostProbe } from './preflight.js';

const host = (p: Partial<HostProbe>): HostProbe => ({
  platform: 'linux', uid: 0, which: (t) => `/usr/sbin/${t}`, exists: () => true, inInitNetns: () => true, ...p,
});

test('preflight passes on a complete host and returns tool paths', (t) => {
  const r = preflight(host({}));
  t.deepEqual(r.missing, []);
  t.is(r.tools.conntrack, '/usr/sbin/conntrack');
});

test('preflight lists every problem', (t) => {
  const r = preflight(host({ uid: 1000, which: (x) => (x === 'tcpdump' ? undefined : `/bin/${x}`) }));
  t.is(r.missing.length, 2);
  t.regex(r.missing[0], /needs root/);
  t.regex(r.missing[1], /tcpdump \(apt-get install -y tcpdump\)/);
  t.regex(preflight(host({ inInitNetns: () => false })).missing.join(), /initial network namespace/);
});

test('detectHz reads CONFIG_HZ from /proc/config.gz', async (t) => {
  const gz = gzipSync(Buffer.from('CONFIG_HZ_250=y\nCONFIG_HZ=250\n'));
  const r = await detectHz((p) => (p === '/proc/config.gz' ? gz : undefined));
  t.deepEqual(r, { hz: 250, how: 'CONFIG_HZ in /proc/config.gz' });
});

test('detectHz falls back to counting jiffies in /proc/timer_list', async (t) => {
  let j = 1000;
  const r = await detectHz((p) => (p === '/proc/timer_list' ? Buffer.from(`jiffies: ${j}\n`) : undefined),
    async () => { j += 1000; await new Promise((res) => setTimeout(res, 1000)); });
  t.is(r?.hz, 1000);
  t.regex(r?.how ?? '', /measured/);
  t.is(await detectHz(() => undefined, async () => undefined), undefined);
});
