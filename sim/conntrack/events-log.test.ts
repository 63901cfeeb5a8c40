import test from 'ava';
import { AddrInterner } from './addr.js';
import { IPCT_ASSURED, IPCT_DESTROY, IPCT_NEW, IPCT_RELATED, IPCT_REPLY } from './constants.js';
import { createConntrack } from './create.js';
import { EventLog, eventType, formatTimestamp } from './events-log.js';
import { Pkt } from './packet.js';
import { REASON_FLUSH } from './stats.js';
import { ip, send, tcp, udp } from './testing.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const T0 = 1_700_000_000_000_000;

test('message type rules of §9.1', (t) => {
  t.is(eventType(1 << IPCT_DESTROY), '[DESTROY]');
  t.is(eventType((1 << IPCT_NEW) | (1 << IPCT_ASSURED)), '[NEW]');
  t.is(eventType(1 << IPCT_RELATED), '[NEW]');
  t.is(eventType(1 << IPCT_REPLY), '[UPDATE]');
  t.is(formatTimestamp(T0 + 123456), '[1700000000.123456]');
  t.is(formatTimestamp(T0 + 45), '[1700000000.000045]');
});

test('a TCP handshake then deletion: [NEW], [UPDATE], [UPDATE], [DESTROY] as conntrack -E prints them', (t) => {
  const ct = createConntrack({ seed: 1, eventListener: true, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const log = new EventLog(ct, new AddrInterner(), { epochOffsetUs: T0 });
  ct.observer = log;
  const p = new Pkt();
  send(ct, 0, tcp(p, A, 40000, B, 80, 'S', 1000));
  send(ct, 1500, tcp(p, B, 80, A, 40000, 'SA', 5000, 1001));
  send(ct, 123456, tcp(p, A, 40000, B, 80, 'A', 1001, 5001));
  ct.setNow(5_000_000);
  ct.flush(REASON_FLUSH);
  const o = 'src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80';
  const r = 'src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000';
  t.deepEqual(log.text().split('\n'), [
    `[1700000000.000000]\t    [NEW] tcp      6 120 SYN_SENT ${o} [UNREPLIED] ${r}`,
    `[1700000000.001500]\t [UPDATE] tcp      6 60 SYN_RECV ${o} ${r}`,
    `[1700000000.123456]\t [UPDATE] tcp      6 432000 ESTABLISHED ${o} ${r} [ASSURED]`,
    `[1700000005.000000]\t[DESTROY] tcp      6 431995 ESTABLISHED ${o} ${r} [ASSURED]`, // timeout (≥ 1 s) and state, as kernel-diff observed on 6.18
    '',
  ]);
  t.is(log.lines, 4);
});

test('UDP: an [UPDATE] without protocol info carries the timeout; chunks go to the sink in order', (t) => {
  const ct = createConntrack({ seed: 1, eventListener: true, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const chunks: string[] = [];
  const log = new EventLog(ct, new AddrInterner(), { sink: (c) => chunks.push(c), chunkLines: 2 });
  ct.observer = log;
  const p = new Pkt();
  send(ct, 0, udp(p, A, 1000, B, 53));
  send(ct, 1000, udp(p, B, 53, A, 1000));
  send(ct, 0, udp(p, A, 1001, B, 53));
  t.is(chunks.length, 1, 'two lines per chunk: the third waits for flush');
  log.flush();
  t.is(chunks.length, 2);
  const lines = chunks.join('').trimEnd().split('\n');
  t.is(lines[1], '[0.001000]\t [UPDATE] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000');
  t.true(lines[2]!.includes('    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1001 dport=53 [UNREPLIED]'));
});

test('no listener, no events (nf_conntrack_events = 2 decides at creation)', (t) => {
  const ct = createConntrack({ seed: 1, eventListener: false, sysctl: { nf_conntrack_max: 1024, nf_conntrack_buckets: 1024 } });
  const log = new EventLog(ct, new AddrInterner());
  ct.observer = log;
  send(ct, 0, udp(new Pkt(), A, 1000, B, 53));
  t.is(log.lines, 0);
});
