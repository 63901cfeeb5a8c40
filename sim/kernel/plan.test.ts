import test from 'ava';
import { encodePacket } from '../capture/encode.js';
import { ALL_CASES, selectCases } from './cases.js';
import { ACK, checkPlan, rawStep, SYN, TcpConv } from './plan.js';

test('every case plan stays inside 10.200.0.0/16 and within its duration', (t) => {
  for (const c of ALL_CASES) t.notThrows(() => checkPlan(c.plan()), c.name);
});

test('checkPlan refuses addresses outside the lab', (t) => {
  const out = rawStep(0.1, { src: '10.200.1.2', dst: '10.1.2.3', tcp: { flags: SYN } });
  t.throws(() => checkPlan({ steps: [out], duration: 1, sampleMs: 50 }), { message: /outside/ });
  const spoofed = { ...rawStep(0.1, { src: '192.168.1.1', dst: '10.200.2.2', tcp: { flags: SYN } }), side: 'c' as const };
  t.throws(() => checkPlan({ steps: [spoofed], duration: 1, sampleMs: 50 }), { message: /outside 10\.200/ });
  t.throws(() => checkPlan({ steps: [], duration: 0, sampleMs: 50 }), { message: /duration/ });
});

test('TcpConv keeps sequence numbers consistent', (t) => {
  const c = new TcpConv(1000, 80, 100, 500);
  const syn = c.syn();
  const sa = c.synAck();
  const ack = c.ackC();
  const data = c.dataC(10);
  t.is(syn.tcp?.seq, 100);
  t.is(sa.tcp?.seq, 500);
  t.is(sa.tcp?.ack, 101);
  t.is(ack.tcp?.seq, 101);
  t.is(ack.tcp?.ack, 501);
  t.is(data.tcp?.seq, 101);
  t.is(c.c, 111);
  t.is(c.finS().tcp?.ack, 111);
  t.is(c.s, 502);
  t.is(ack.tcp?.flags, ACK);
  t.is(sa.src, '10.200.2.2');
  t.is(encodePacket(syn)[9], 6);
});

test('selectCases: names, prefixes, unknown words', (t) => {
  t.is(selectCases([]).cases.length, ALL_CASES.length);
  t.deepEqual(selectCases(['overflow']).cases.map((c) => c.name), ['overflow-default-buckets', 'overflow-few-buckets']);
  t.deepEqual(selectCases(['gc-95', 'zzz']).unknown, ['zzz']);
});
