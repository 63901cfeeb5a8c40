/**
 * NAT cases (docs/nat.md): the firewall namespace masquerades or SNATs towards the server side
 * (10.200.2.1 on vfs) or DNATs, and the model replays the firewall's input capture with the same
 * ruleset. Compared: the counters NAT moves (exactly where the outcome does not depend on random
 * draws, as a range over seeds where it does), the number of mapped flows, and the ports chosen
 * (port preservation, a sequential block, random ports).
 */
import type { KernelCase, KernelObs, ModelObs } from './case-types.js';
import { exact, inDistribution, sameCounts, type Check } from './compare.js';
import { ADDR } from './lab.js';
import { parseEntry, type CtEntry } from './parse.js';
import { rawStep, sequence, SYN, type Step } from './plan.js';
import type { PacketSpec } from '../capture/encode.js';

const C = ADDR.client;
const S = ADDR.server;
const NATA = ADDR.fwServer;

const snatRules = (stmt: string): string => `table ip ctsim_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "vfs" ${stmt}
  }
}
`;

const udp = (sport: number, dport = 53): PacketSpec => ({ src: C, dst: S, sport, dport, udp: {}, payloadLen: 20 });
const syn = (sport: number, dport = 80): PacketSpec => ({ src: C, dst: S, sport, dport, tcp: { flags: SYN, seq: 1000 + sport, ack: 0, win: 64240, mss: 1460 } });

/** Port of the manipulated side of each entry: the REPLY tuple's dport (SNAT) or sport (DNAT). */
function mappedPorts(entries: readonly CtEntry[], side: 'dport' | 'sport'): number[] {
  const re = side === 'dport' ? /dport=(\d+)/ : /sport=(\d+)/;
  return entries.map((e) => Number(re.exec(e.reply)?.[1] ?? -1)).sort((a, b) => a - b);
}

function modelEntries(m: ModelObs, seed = 0): CtEntry[] {
  return m.runs[seed]!.result.listing.map((l) => parseEntry(l)).filter((e): e is CtEntry => e !== undefined);
}

const pick = (r: Readonly<Record<string, number>>, keys: readonly string[]): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, r[k] ?? 0]));
const NAT_STATS = ['insert_failed', 'drop', 'clash_resolve', 'invalid'] as const;

/** Counters and states exactly (seed 1), `found` as a range over seeds. */
function natCounters(k: KernelObs, m: ModelObs): Check[] {
  const r = m.runs[0]!.result;
  return [
    sameCounts('conntrack -S (NAT)', pick(k.stats, NAT_STATS), pick(r.stats, NAT_STATS), NAT_STATS),
    sameCounts('conntrack -L states', k.states, r.states),
    inDistribution('found (probes that hit a used tuple)', k.stats['found'] ?? 0, m.runs.map((x) => x.result.stats['found'] ?? 0)),
  ];
}

function natSummaryText(side: 'dport' | 'sport') {
  return (k: KernelObs, m: ModelObs): { kernel: string; model: string } => {
    const kp = mappedPorts(k.entries, side), mp = mappedPorts(modelEntries(m), side);
    const f = (n: number, s: Record<string, number>, p: number[]) => `${n} mapped, insert_failed=${s['insert_failed'] ?? 0}, ports ${p.length ? `${p[0]}–${p[p.length - 1]}` : '-'}`;
    return { kernel: f(k.entries.length, k.stats, kp), model: f(mp.length, m.runs[0]!.result.stats, mp) };
  };
}

/** SNAT to 10 ports, 20 silent UDP flows: 10 mappings (the whole block), 10 insert_failed. */
export const natSnatUdpSilent: KernelCase = {
  name: 'nat-snat-udp-silent',
  title: 'SNAT to a 10-port range, 20 silent UDP flows to one destination: 10 mappings, 10 insert_failed',
  reference: 'docs/nat.md §2.5, §2.7',
  nat: snatRules(`meta l4proto udp snat to ${NATA}:20000-20009`),
  events: false, sinks: true, seeds: 100, expectSeconds: 4,
  plan: () => ({ duration: 1.5, sampleMs: 100, steps: sequence(0.1, 0.02, Array.from({ length: 20 }, (_, i) => udp(41000 + i))) }),
  check: (k, m) => [
    ...natCounters(k, m),
    exact('mapped ports (the whole range)', mappedPorts(k.entries, 'dport').join(','), mappedPorts(modelEntries(m), 'dport').join(',')),
  ],
  summary: natSummaryText('dport'),
};

/** A one-port range, answered UDP: the first flow maps and is answered; a second flow clashes at confirm. */
export const natSnatUdpAnswered: KernelCase = {
  name: 'nat-snat-udp-answered',
  title: 'SNAT to one port, answered UDP: the first flow is replied through the mapping, the second is dropped at confirm',
  reference: 'docs/nat.md §1.7, §2.2 step 3, §2.7',
  nat: snatRules(`meta l4proto udp snat to ${NATA}:20000`),
  events: false, sinks: true, seeds: 1, expectSeconds: 4,
  plan: () => {
    const steps: Step[] = [
      rawStep(0.1, udp(41000)),
      rawStep(0.15, { src: S, dst: NATA, sport: 53, dport: 20000, udp: {}, payloadLen: 40 }),
      rawStep(0.2, udp(41000)),
      rawStep(0.25, udp(41001)),
    ];
    return { duration: 1.2, sampleMs: 100, steps };
  },
  check: (k, m) => [
    ...natCounters(k, m),
    exact('mapped ports', mappedPorts(k.entries, 'dport').join(','), mappedPorts(modelEntries(m), 'dport').join(',')),
  ],
  summary: natSummaryText('dport'),
};

/** SNAT TCP SYNs to 10 ports: 10 SYN_SENT mappings, 2 SYNs dropped at confirm. */
export const natSnatTcp: KernelCase = {
  name: 'nat-snat-tcp',
  title: 'SNAT to a 10-port range, 12 TCP SYNs to one destination: 10 mappings, 2 insert_failed',
  reference: 'docs/nat.md §2.5, §2.7',
  nat: snatRules(`meta l4proto tcp snat to ${NATA}:20000-20009`),
  events: false, sinks: true, seeds: 100, expectSeconds: 4,
  plan: () => ({ duration: 1.2, sampleMs: 100, steps: sequence(0.1, 0.02, Array.from({ length: 12 }, (_, i) => syn(42000 + i))) }),
  check: (k, m) => [
    ...natCounters(k, m),
    exact('mapped ports (the whole range)', mappedPorts(k.entries, 'dport').join(','), mappedPorts(modelEntries(m), 'dport').join(',')),
  ],
  summary: natSummaryText('dport'),
};

/** Ports kept equal to the client's (port preservation) among the mapped flows. */
function preserved(entries: readonly CtEntry[]): number {
  let n = 0;
  for (const e of entries) {
    const o = /sport=(\d+)/.exec(e.orig)?.[1];
    const r = /dport=(\d+)/.exec(e.reply)?.[1];
    if (o !== undefined && o === r) n++;
  }
  return n;
}

function masqCase(name: string, flags: string): KernelCase {
  const random = flags !== '';
  return {
    name,
    title: `masquerade${random ? ` ${flags}` : ''}, 30 UDP flows: ${random ? 'random ports (≈ none preserved)' : 'every client port preserved'}`,
    reference: 'docs/nat.md §2.2, §4',
    nat: snatRules(`meta l4proto udp masquerade${random ? ` ${flags}` : ''}`),
    events: false, sinks: true, seeds: random ? 100 : 1, expectSeconds: 4,
    plan: () => ({ duration: 1.5, sampleMs: 100, steps: sequence(0.1, 0.01, Array.from({ length: 30 }, (_, i) => udp(43000 + i))) }),
    check: (k, m) => {
      const out = [...natCounters(k, m), exact('mapped flows', k.entries.length, modelEntries(m).length)];
      out.push(exact('mapped to the interface address', k.entries.filter((e) => e.reply.includes(`dst=${NATA} `)).length,
        modelEntries(m).filter((e) => e.reply.includes(`dst=${NATA} `)).length));
      if (random) out.push(inDistribution('ports preserved', preserved(k.entries), m.runs.map((_, i) => preserved(modelEntries(m, i)))));
      else out.push(exact('ports preserved', preserved(k.entries), preserved(modelEntries(m))));
      return out;
    },
    summary: (k, m) => ({
      kernel: `${k.entries.length} mapped, ${preserved(k.entries)} ports preserved`,
      model: `${modelEntries(m).length} mapped, ${preserved(modelEntries(m))} ports preserved (seed 1)`,
    }),
  };
}

export const natMasq = masqCase('nat-masq', '');
export const natMasqFullyRandom = masqCase('nat-masq-fully-random', 'fully-random');

/** DNAT to a port range without random flags: v6.8+ starts at offset 0, so every flow gets the lowest port. */
export const natDnat: KernelCase = {
  name: 'nat-dnat',
  title: 'DNAT to ports 8000-8009 (no random flag): every flow gets 8000 (search from offset 0 on v6.8+)',
  reference: 'docs/nat.md §2.5, §2.9',
  nat: `table ip ctsim_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "vfc" udp dport 80 dnat to ${S}:8000-8009
  }
}
`,
  events: false, sinks: true, seeds: 1, expectSeconds: 4,
  plan: () => ({ duration: 1.2, sampleMs: 100, steps: sequence(0.1, 0.02, Array.from({ length: 10 }, (_, i) => udp(44000 + i, 80))) }),
  check: (k, m) => [
    ...natCounters(k, m),
    exact('DNAT ports', mappedPorts(k.entries, 'sport').join(','), mappedPorts(modelEntries(m), 'sport').join(',')),
  ],
  summary: natSummaryText('sport'),
};

export const NAT_CASES: readonly KernelCase[] = [natSnatUdpSilent, natSnatUdpAnswered, natSnatTcp, natMasq, natMasqFullyRandom, natDnat];
