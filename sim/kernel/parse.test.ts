import test from 'ava';
import {
  entryStateKey, kernelMajorMinor, nearestHz, parseConfigHz, parseEntry, parseEvents, parseList, parseStats,
  parseTimerListJiffies, summariseEntries,
} from './parse.js';

// Output captured from conntrack-tools 1.4.7 on Linux 6.18.
const LIST = `tcp      6 118 TIME_WAIT src=10.200.1.2 dst=10.200.2.2 sport=49048 dport=8080 src=10.200.2.2 dst=10.200.1.2 sport=8080 dport=49048 [ASSURED] mark=0 use=1
udp      17 28 src=10.200.1.2 dst=10.200.2.2 sport=34699 dport=9999 [UNREPLIED] src=10.200.2.2 dst=10.200.1.2 sport=9999 dport=34699 mark=0 use=1
icmp     1 29 src=10.200.1.2 dst=10.200.2.2 type=8 code=0 id=4660 src=10.200.2.2 dst=10.200.1.2 type=0 code=0 id=4660 mark=0 use=1
`;

const EVENTS = `[1795796771.190740]\t    [NEW] tcp      6 120 SYN_SENT src=10.200.1.2 dst=10.200.2.2 sport=49048 dport=8080 [UNREPLIED] src=10.200.2.2 dst=10.200.1.2 sport=8080 dport=49048
[1795796771.190770]\t [UPDATE] tcp      6 60 SYN_RECV src=10.200.1.2 dst=10.200.2.2 sport=49048 dport=8080 src=10.200.2.2 dst=10.200.1.2 sport=8080 dport=49048
[1795797152.983790]\t [UPDATE] tcp      6 300 src=10.200.1.2 dst=10.200.2.2 sport=40005 dport=80 src=10.200.2.2 dst=10.200.1.2 sport=80 dport=40005
[1795797151.685019]\t[DESTROY] tcp      6 119 CLOSE src=10.200.1.2 dst=10.200.2.2 sport=40001 dport=80 [UNREPLIED] src=10.200.2.2 dst=10.200.1.2 sport=80 dport=40001
WARNING: We have hit ENOBUFS! We are losing events.
[1795797151.7]\t[DESTROY] udp      17 src=10.200.1.2 dst=10.200.2.2 sport=1 dport=2 src=10.200.2.2 dst=10.200.1.2 sport=2 dport=1
`;

test('parseList reads tcp, udp and icmp lines', (t) => {
  const l = parseList(LIST);
  t.is(l.length, 3);
  t.deepEqual(l[0], {
    proto: 'tcp', protonum: 6, timeout: 118, state: 'TIME_WAIT',
    orig: 'src=10.200.1.2 dst=10.200.2.2 sport=49048 dport=8080', reply: 'src=10.200.2.2 dst=10.200.1.2 sport=8080 dport=49048',
    unreplied: false, assured: true, flags: [],
  });
  t.is(l[1].state, undefined);
  t.true(l[1].unreplied);
  t.is(l[2].orig, 'src=10.200.1.2 dst=10.200.2.2 type=8 code=0 id=4660');
  t.is(l[2].reply, 'src=10.200.2.2 dst=10.200.1.2 type=0 code=0 id=4660');
});

test('summariseEntries uses the model replay keys', (t) => {
  t.deepEqual(summariseEntries(parseList(LIST)), { 'icmp -': 1, 'tcp TIME_WAIT ASSURED': 1, 'udp - UNREPLIED': 1 });
  const e = parseEntry('unknown  132 590 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 mark=0 use=1');
  t.is(e && entryStateKey(e), 'unknown(132) -');
});

test('parseEvents reads timestamps, types, optional timeout and state, and skips warnings', (t) => {
  const ev = parseEvents(EVENTS);
  t.is(ev.length, 5);
  t.is(ev[0].tsUs, 1795796771190740);
  t.is(ev[0].type, 'NEW');
  t.is(ev[0].entry.timeout, 120);
  t.is(ev[0].entry.state, 'SYN_SENT');
  t.is(ev[2].entry.state, undefined);
  t.is(ev[2].entry.timeout, 300);
  t.is(ev[3].type, 'DESTROY');
  t.is(ev[3].entry.state, 'CLOSE');
  t.true(ev[3].entry.unreplied);
  t.is(ev[4].entry.timeout, undefined);
  t.is(ev[4].tsUs, 1795797151700000);
});

test('parseStats sums the per-CPU lines', (t) => {
  const s = parseStats(`cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=0 drop=10 early_drop=1 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 
cpu=1   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=5 early_drop=2 error=1 search_restart=0 clash_resolve=0 chaintoolong=0 
`);
  t.is(s.invalid, 4);
  t.is(s.drop, 15);
  t.is(s.early_drop, 3);
  t.is(s.error, 1);
  t.false('cpu' in s);
});

test('HZ helpers', (t) => {
  t.is(parseConfigHz('# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n'), 250);
  t.is(parseConfigHz('CONFIG_HZ_PERIODIC=y\n'), undefined);
  t.is(parseTimerListJiffies('now at 1 nsecs\njiffies: 4295123456\n'), 4295123456);
  t.is(nearestHz(249.3), 250);
  t.is(nearestHz(998), 1000);
  t.is(nearestHz(290), 300);
  t.is(kernelMajorMinor('6.18.44-fc-v657'), '6.18');
  t.is(kernelMajorMinor('weird'), undefined);
});
