/**
 * Cases about single flows, whose outcomes do not depend on the hash key: their `conntrack -E`
 * event streams must match line for line, the counters and the final per-state listing
 * exactly. TCP over real sockets, crafted TCP sequences, the UDP 2-second stream rule and
 * ICMP (echo, RELATED errors, stray errors).
 */
import { IPPROTO_UDP } from '../conntrack/constants.js';
import type { KernelCase, KernelObs, ModelObs } from './case-types.js';
import { compareDestroyDetail, compareDestroySets, compareEvents, sameCounts, splitBackground, type Check } from './compare.js';
import { ADDR } from './lab.js';
import { ACK, FIN, PSH, rawStep, RST, sequence, SYN, TcpConv, type Step } from './plan.js';

/** Counters compared exactly in flow cases. */
export const EXACT_STATS = ['invalid', 'error', 'drop', 'early_drop', 'insert_failed', 'clash_resolve', 'chaintoolong'] as const;

/** A DESTROY within this many µs after a frame counts as caused by that frame. */
export const PACKET_WINDOW_US = 50_000;

const pick = (r: Readonly<Record<string, number>>, keys: readonly string[]): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, r[k] ?? 0]));

/** Events, counters and states of a deterministic case. */
export function flowChecks(k: KernelObs, m: ModelObs): Check[] {
  const run = m.runs[0];
  const out: Check[] = [];
  if (k.events && run.events) {
    const ks = splitBackground(k.events, k.frameTsUs, PACKET_WINDOW_US);
    const ms = splitBackground(run.events, k.frameTsUs, PACKET_WINDOW_US);
    out.push(compareEvents('events (conntrack -E)', ks.packet, ms.packet));
    if (k.events.some((e) => e.type === 'DESTROY')) out.push(compareDestroyDetail('DESTROY timeout and TCP state', k.events, run.events));
    if (ks.background.length + ms.background.length > 0) {
      out.push(compareDestroySets('entries reaped by gc', ks.background, ms.background));
    }
  }
  out.push(sameCounts('conntrack -S', pick(k.stats, EXACT_STATS), pick(run.result.stats, EXACT_STATS), EXACT_STATS));
  out.push(sameCounts('conntrack -L states', k.states, run.result.states));
  return out;
}

function flowSummary(k: KernelObs, m: ModelObs): { kernel: string; model: string } {
  const r = m.runs[0].result;
  const n = (s: Record<string, number>): number => Object.values(s).reduce((a, b) => a + b, 0);
  const inv = (s: Record<string, number>): string => `invalid=${s.invalid ?? 0}${(s.error ?? 0) > 0 ? ` error=${s.error}` : ''}`;
  return {
    kernel: `${k.events?.length ?? 0} events, ${n(k.states)} entries, ${inv(k.stats)}`,
    model: `${m.runs[0].events?.length ?? 0} events, ${n(r.states)} entries, ${inv(r.stats)}`,
  };
}

const C = ADDR.client;
const S = ADDR.server;

/** Real TCP connections: one closed by the server first, one by the client first. */
export const tcpReal: KernelCase = {
  name: 'tcp-real',
  title: 'TCP state sequence of real socket connections (handshake, data, both close orders)',
  reference: '§4.5, §4.6, §9.1',
  events: true, sinks: false, seeds: 1, expectSeconds: 5,
  plan: () => ({
    duration: 3, sampleMs: 100,
    steps: [
      { at: 0.1, op: 'tcp', port: 8080, request: 2000, response: 30000, serverClose: 0.2, clientClose: 0.6 },
      { at: 1.2, op: 'tcp', port: 8081, request: 100, response: 500, serverClose: 0.6, clientClose: 0.2 },
    ],
  }),
  check: flowChecks,
  summary: flowSummary,
};

function craftedTcp(): Step[] {
  const steps: Step[] = [];
  const g = 0.02;
  // A: connection refused (SYN, RST|ACK from the server): deleted at once (§4.6-12).
  const a = new TcpConv(40001, 80, 1000, 0);
  const aSyn = a.syn();
  steps.push(...sequence(0.1, g, [aSyn, a.custom(false, RST | ACK, 0, a.c)]));
  // B: whole life, client closes first, ends in TIME_WAIT.
  const b = new TcpConv(40002, 80, 20000, 90000);
  steps.push(...sequence(0.4, g, [b.syn(), b.synAck(), b.ackC(), b.dataC(100), b.ackS(), b.dataS(300), b.ackC(),
    b.finC(), b.ackS(), b.finS(), b.ackC()]));
  // C: SYN retransmitted (no refresh), handshake, then the client resets (CLOSE, 10 s).
  const c = new TcpConv(40003, 80, 5000, 70000);
  steps.push(...sequence(0.8, g, [c.syn(), c.custom(true, SYN, 5000, 0), c.synAck(), c.ackC(), c.rstC()]));
  // D: B's tuple re-opened from TIME_WAIT with a new SYN: old entry killed, a new one created (§4.6-1).
  const d = new TcpConv(40002, 80, b.c + 100000, 0);
  steps.push(...sequence(1.2, g, [d.syn()]));
  // E: mid-stream pickup (tcp_loose=1): ESTABLISHED, capped at 300 s until a reply (§4.4, §4.6-12).
  const e = new TcpConv(40005, 80, 777000, 888000);
  steps.push(...sequence(1.4, g, [e.dataC(10), e.ackS(), e.dataC(10), e.ackS()]));
  // F: simultaneous open (SYN_SENT2).
  const f = new TcpConv(40006, 80, 3000, 4000);
  const fa = f.c;
  const fb = f.s;
  steps.push(...sequence(1.7, g, [f.syn(), f.synS(), f.custom(true, SYN | ACK, fa, fb + 1), f.custom(false, SYN | ACK, fb, fa + 1),
    f.ackC(), f.ackS()]));
  // G: packets that cannot create an entry: a stray SYN-ACK, a bare FIN (invalid flags).
  const h = new TcpConv(40007, 80, 111, 222);
  steps.push(...sequence(2.0, g, [h.custom(false, SYN | ACK, 222, 112), h.custom(true, FIN, 111, 0)]));
  // H: out-of-window data and an ACK of unsent data on an established connection, then a server RST.
  const w = new TcpConv(40008, 80, 60000, 61000);
  steps.push(...sequence(2.2, g, [w.syn(), w.synAck(), w.ackC(), w.custom(true, ACK | PSH, w.c + 400000, w.s, 20),
    w.custom(true, ACK, w.c, w.s + 100000), w.dataC(50), w.ackS(), w.custom(false, RST | ACK, w.s, w.c)]));
  return steps;
}

/** Crafted TCP sequences covering the special cases of the tracker. */
export const tcpCrafted: KernelCase = {
  name: 'tcp-crafted',
  title: 'crafted TCP sequences: refused, full close, SYN retransmit, re-open, pickup, simultaneous open, invalid, out of window',
  reference: '§4.3–4.8, §9.1',
  events: true, sinks: true, seeds: 1, expectSeconds: 5,
  plan: () => ({ duration: 3.2, sampleMs: 100, steps: craftedTcp() }),
  check: flowChecks,
  summary: flowSummary,
};

/** The UDP stream rule: ASSURED and the 120 s timeout only for a post-reply packet > 2 s after creation. */
export const udpStream: KernelCase = {
  name: 'udp-stream',
  title: 'UDP stream rule: replied within/after 2 s, one-way, late first reply',
  reference: '§5.1',
  events: true, sinks: true, seeds: 1, expectSeconds: 6,
  plan: () => {
    const u = (sport: number, fromClient: boolean, len = 20) => ({
      src: fromClient ? C : S, dst: fromClient ? S : C, proto: IPPROTO_UDP,
      sport: fromClient ? sport : 53, dport: fromClient ? 53 : sport, udp: {}, payloadLen: len,
    });
    const steps: Step[] = [
      // flow 1: request, reply, request at 1.0 s (no stream yet), request at 2.6 s (stream → ASSURED, 120 s)
      rawStep(0.1, u(41001, true)), rawStep(0.2, u(41001, false)), rawStep(1.1, u(41001, true)), rawStep(2.7, u(41001, true)),
      // flow 2: request and reply only (stays 30 s, not assured)
      rawStep(0.15, u(41002, true)), rawStep(0.25, u(41002, false)),
      // flow 3: one-way twice, across the 2 s mark
      rawStep(0.3, u(41003, true)), rawStep(2.8, u(41003, true)),
      // flow 4: first reply only after 2.2 s (handled as unreplied), then a request (stream)
      rawStep(0.35, u(41004, true)), rawStep(2.55, u(41004, false)), rawStep(2.9, u(41004, true)),
    ];
    return { duration: 3.4, sampleMs: 100, steps };
  },
  check: flowChecks,
  summary: flowSummary,
};

/** ICMP echo, a RELATED port-unreachable from the real server kernel, a stray error, a stray echo reply. */
export const icmpRelated: KernelCase = {
  name: 'icmp-related',
  title: 'ICMP: echo entry, RELATED port unreachable, stray error (icmp_error), stray echo reply (invalid)',
  reference: '§6.1, §1.6',
  events: true, sinks: false, seeds: 1, expectSeconds: 4,
  plan: () => ({
    duration: 2, sampleMs: 100,
    steps: [
      // echo request: the server kernel answers with a real echo reply
      rawStep(0.1, { src: C, dst: S, icmp: { type: 8, id: 0x1234, seq: 1 }, payloadLen: 16 }),
      // UDP to a closed port: the server kernel answers port unreachable (RELATED to this entry)
      rawStep(0.4, { src: C, dst: S, proto: IPPROTO_UDP, sport: 42001, dport: 9, udp: {}, payloadLen: 8 }),
      // a port unreachable about a flow that never existed: INVALID, icmp_error
      rawStep(0.7, {
        src: S, dst: C, icmp: { type: 3, code: 3, inner: { src: C, dst: S, proto: IPPROTO_UDP, sport: 42999, dport: 7, udp: {}, payloadLen: 8 } },
      }),
      // an echo reply nobody asked for: cannot create an entry (INVALID)
      rawStep(0.9, { src: S, dst: C, icmp: { type: 0, id: 0x4321, seq: 1 }, payloadLen: 16 }),
      // TCP SYN to a closed port: the server kernel resets it (entry deleted at once)
      rawStep(1.1, { src: C, dst: S, sport: 42002, dport: 9, tcp: { flags: SYN, seq: 5, win: 64240 } }),
    ],
  }),
  check: flowChecks,
  summary: flowSummary,
};
