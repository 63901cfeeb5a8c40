import test from 'ava';
import {
  compareDestroyDetail, compareDestroySets, compareEvents, exact, inDistribution, sameCounts, splitBackground, both,
} from './compare.js';
import { parseEvents } from './parse.js';

const T = 'src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2';
const R = 'src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1';
const ev = (text: string) => parseEvents(text);

test('compareEvents: identical streams pass, timeouts within one second', (t) => {
  const k = ev(`[1.000000]\t    [NEW] tcp      6 120 SYN_SENT ${T} [UNREPLIED] ${R}\n[1.100000]\t [UPDATE] tcp      6 60 SYN_RECV ${T} ${R}\n`);
  const m = ev(`[1.000001]\t    [NEW] tcp      6 119 SYN_SENT ${T} [UNREPLIED] ${R}\n[1.100001]\t [UPDATE] tcp      6 60 SYN_RECV ${T} ${R}\n`);
  const c = compareEvents('e', k, m);
  t.true(c.pass, c.detail);
});

test('compareEvents: a timeout off by more than one second fails', (t) => {
  const k = ev(`[1.0]\t    [NEW] udp      17 30 ${T} [UNREPLIED] ${R}\n`);
  const m = ev(`[1.0]\t    [NEW] udp      17 120 ${T} [UNREPLIED] ${R}\n`);
  const c = compareEvents('e', k, m);
  t.false(c.pass);
  t.regex(c.detail ?? '', /timeout 30 s vs 120 s/);
});

test('compareEvents: a missing flag, state or event fails and names the event', (t) => {
  const k = ev(`[1.0]\t    [NEW] tcp      6 120 SYN_SENT ${T} [UNREPLIED] ${R}\n[1.1]\t[DESTROY] tcp      6 119 CLOSE ${T} [UNREPLIED] ${R}\n`);
  const m = ev(`[1.0]\t    [NEW] tcp      6 120 SYN_SENT ${T} [UNREPLIED] ${R}\n[1.1]\t[DESTROY] tcp      6 ${T} ${R}\n`);
  const c = compareEvents('e', k, m);
  t.false(c.pass);
  t.regex(c.detail ?? '', /event 2 differs/);
  t.false(compareEvents('e', k, k.slice(0, 1)).pass);
});

test('compareDestroyDetail compares the DESTROY timeout and TCP state', (t) => {
  const k = ev(`[1.1]\t[DESTROY] tcp      6 119 CLOSE ${T} ${R}\n`);
  const m = ev(`[1.1]\t[DESTROY] tcp      6 ${T} ${R}\n`);
  t.false(compareDestroyDetail('d', k, m).pass);
  t.true(compareDestroyDetail('d', k, ev(`[1.1]\t[DESTROY] tcp      6 118 CLOSE ${T} ${R}\n`)).pass);
});

test('splitBackground separates packet-caused from gc DESTROY events', (t) => {
  const e = ev(`[10.000100]\t[DESTROY] udp      17 ${T} ${R}\n[70.000000]\t[DESTROY] udp      17 ${T} ${R}\n[10.0002]\t    [NEW] udp      17 30 ${T} [UNREPLIED] ${R}\n`);
  const s = splitBackground(e, [5e6, 10e6], 50_000);
  t.is(s.packet.length, 2);
  t.is(s.background.length, 1);
  t.is(s.background[0].tsUs, 70e6);
  t.true(compareDestroySets('x', s.background, s.background).pass);
  t.false(compareDestroySets('x', s.background, []).pass);
});

test('inDistribution: inside the widened seed range passes, far outside fails', (t) => {
  t.true(inDistribution('x', 7, [3, 5, 9, 11]).pass);
  t.true(inDistribution('x', 12, [3, 5, 9, 11]).pass);
  t.false(inDistribution('x', 40, [3, 5, 9, 11]).pass);
  t.true(inDistribution('x', 100, [99, 99, 99]).pass);
  t.false(inDistribution('x', 102, [99, 99, 99]).pass);
  t.false(inDistribution('x', 1, []).pass);
});

test('exact, both and sameCounts', (t) => {
  t.true(exact('x', 3, 3).pass);
  t.false(exact('x', 3, 4).pass);
  t.true(both('lag', 10, 50, (v) => v <= 61, '≤ 61').pass);
  t.false(both('lag', 70, 50, (v) => v <= 61, '≤ 61').pass);
  t.true(sameCounts('s', { a: 1, b: 0 }, { a: 1 }).pass);
  const c = sameCounts('s', { a: 1 }, { a: 2 });
  t.false(c.pass);
  t.regex(c.detail ?? '', /a \(1 vs 2\)/);
});
