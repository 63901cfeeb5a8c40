/**
 * Stateful rule cases (docs/rules.md §20): the firewall namespace loads a filter ruleset with
 * `ct count` or a `ct timeout` object, the model replays the firewall's capture with the same
 * ruleset (replay runs the rule path). Compared: the event streams line by line (NEW times and
 * order show which SYN created an entry; timeouts in the events show the policy), counters, the
 * final per-state listing, and the listing's remaining timeouts.
 */
import type { KernelCase, KernelObs, ModelObs } from './case-types.js';
import { flowChecks } from './cases-flows.js';
import { exact, within, type Check } from './compare.js';
import { parseEntry, type CtEntry } from './parse.js';
import { sequence, TcpConv } from './plan.js';

const filterRules = (objects: string, rule: string): string => `table ip ctsim_filter {
${objects}
  chain forward {
    type filter hook forward priority filter; policy accept;
    ${rule}
  }
}
`;

function modelEntries(m: ModelObs): CtEntry[] {
  return m.runs[0]!.result.listing.map((l) => parseEntry(l)).filter((e): e is CtEntry => e !== undefined);
}

const newEvents = (ev: readonly { type: string }[] | undefined): number => (ev ?? []).filter((e) => e.type === 'NEW').length;

/**
 * `ct count over 3` with real connections: three held open, a fourth refused (its SYN dropped
 * before confirm: no entry, no NEW event); the first closes (TIME_WAIT), and the fourth's SYN
 * retransmission one RTO later is admitted because the walk no longer counts a TIME_WAIT entry.
 */
export const connlimit: KernelCase = {
  name: 'connlimit',
  title: 'ct count over 3 with real connections: the 4th is refused until the 1st closes (TIME_WAIT stops counting); its retransmitted SYN is admitted',
  reference: 'docs/rules.md §20.2',
  rules: filterRules('', 'ct state new ct count over 3 counter drop'),
  events: true, sinks: false, seeds: 1, expectSeconds: 9,
  plan: () => ({
    duration: 6, sampleMs: 100,
    steps: [
      // closes at about 0.1 + 0.7 (server) / 0.9 (client) s
      { at: 0.1, op: 'tcp', port: 8101, request: 100, response: 1000, serverClose: 0.7, clientClose: 0.9 },
      { at: 0.2, op: 'tcp', port: 8102, request: 100, response: 1000, serverClose: 3.0, clientClose: 3.2 },
      { at: 0.3, op: 'tcp', port: 8103, request: 100, response: 1000, serverClose: 3.0, clientClose: 3.2 },
      // first SYN at 0.4 s: 4 > 3, dropped; the retransmission (RTO 1 s) comes after the 1st closed
      { at: 0.4, op: 'tcp', port: 8104, request: 100, response: 1000, serverClose: 1.0, clientClose: 1.2 },
    ],
  }),
  check: (k: KernelObs, m: ModelObs): Check[] => [
    ...flowChecks(k, m),
    exact('connections created (NEW events)', newEvents(k.events), newEvents(m.runs[0]!.events)),
  ],
  summary: (k, m) => ({
    kernel: `${newEvents(k.events)} NEW, ${k.entries.length} entries at the end`,
    model: `${newEvents(m.runs[0]!.events)} NEW, ${modelEntries(m).length} entries at the end`,
  }),
};

const dportOf = (e: CtEntry): number => Number(/dport=(\d+)/.exec(e.orig)?.[1] ?? -1);

/**
 * A `ct timeout` object attached by `ct timeout set` to connections to port 80: the ESTABLISHED
 * timeout in the events and in `conntrack -L` is the policy's 100 s; port 81 keeps 432000 s.
 */
export const ctTimeoutObject: KernelCase = {
  name: 'ct-timeout-object',
  title: 'ct timeout object (established 100 s) set on port-80 connections: events and conntrack -L show 100 s, port 81 keeps the default',
  reference: 'docs/rules.md §20.3',
  rules: filterRules(`  ct timeout short {
    protocol tcp; l3proto ip
    policy = { established: 100, close_wait: 20 }
  }`, 'tcp dport 80 ct timeout set "short"'),
  events: true, sinks: true, seeds: 1, expectSeconds: 5,
  plan: () => {
    const a = new TcpConv(40080, 80, 1000, 50000);
    const b = new TcpConv(40081, 81, 2000, 60000);
    return {
      duration: 2, sampleMs: 100,
      steps: [
        ...sequence(0.1, 0.02, [a.syn(), a.synAck(), a.ackC(), a.dataC(100), a.ackS()]),
        ...sequence(0.3, 0.02, [b.syn(), b.synAck(), b.ackC(), b.dataC(100), b.ackS()]),
      ],
    };
  },
  check: (k: KernelObs, m: ModelObs): Check[] => {
    const out = flowChecks(k, m);
    const me = modelEntries(m);
    for (const port of [80, 81]) {
      const ke = k.entries.find((e) => dportOf(e) === port), mm = me.find((e) => dportOf(e) === port);
      out.push(within(`conntrack -L timeout, dport ${port}`, ke?.timeout ?? -1, mm?.timeout ?? -2, 1));
    }
    return out;
  },
  summary: (k, m) => {
    const f = (es: CtEntry[]) => [80, 81].map((p) => `${p}: ${es.find((e) => dportOf(e) === p)?.timeout ?? '-'} s`).join(', ');
    return { kernel: f(k.entries), model: f(modelEntries(m)) };
  },
};

export const STATEFUL_CASES: readonly KernelCase[] = [ctTimeoutObject, connlimit];
