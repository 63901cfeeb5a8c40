/**
 * The model side of a case: the kernel's capture replayed through the conntrack model with
 * the sysctls the kernel had, once per seed (outcomes that depend on the hash key become
 * distributions), with the clock running until the moment the kernel's state was read.
 *
 * Checksums are not verified on replay: packets of real sockets cross the veth pair with
 * CHECKSUM_PARTIAL (offloaded), so the capture shows unfinished TCP/UDP checksums that the
 * kernel's conntrack accepts without checking (`skb_csum_unnecessary`); crafted packets carry
 * correct checksums anyway.
 */
import { replayCapture, type ReplayOptions } from '../replay/replay.js';
import { buildRoutes, loadRuleset } from '../rules/index.js';
import type { KernelCase, KernelObs, ModelObs, ModelRun } from './case-types.js';
import { parseEvents } from './parse.js';

/** Host facts the model needs. */
export interface ModelEnv {
  hz: number;
  /** Kernel "major.minor". */
  version: string;
}

/** Timeline sampling period of the model replays (seconds). */
export const MODEL_SAMPLE_SECONDS = 0.05;

/** Replays `bytes` for every seed of the case, plus the long replay when the case asks for one. */
export function runModel(c: KernelCase, bytes: Uint8Array, fileName: string, k: KernelObs, env: ModelEnv): ModelObs {
  const idle = Math.max(0, (k.endTsUs - k.lastTsUs) / 1e6);
  const base: ReplayOptions = {
    sysctl: { ...c.sysctl, nf_conntrack_max: k.max, nf_conntrack_buckets: k.buckets },
    hz: env.hz, version: env.version, sampleSeconds: MODEL_SAMPLE_SECONDS, verifyChecksums: false, idleSeconds: idle,
  };
  const text = [c.nat, c.rules].filter((x): x is string => x !== undefined).join('\n');
  if (text !== '') {
    // the lab's interfaces as routes, and the case's NAT ruleset (docs/nat.md) and filter/raw rules (docs/rules.md §8)
    const built = buildRoutes([
      { prefix: '10.200.1.0/24', iface: 'vfc', addr: '10.200.1.1' },
      { prefix: '10.200.2.0/24', iface: 'vfs', addr: '10.200.2.1' },
    ]);
    if (!built.ok) throw new Error('kernel-diff: lab routes do not build');
    base.routes = built.routes;
    base.ruleset = loadRuleset(text, `${c.name}.nft`, built.routes);
  }
  const one = (seed: number, events: boolean, idleSeconds: number): ModelRun => {
    const result = replayCapture(bytes, fileName, { ...base, seed, events, idleSeconds, ...(base.ruleset ? { ruleset: base.ruleset.clone() as typeof base.ruleset } : {}) });
    const run: ModelRun = { seed, result };
    if (events) run.events = parseEvents(result.events ?? '');
    return run;
  };
  const runs: ModelRun[] = [];
  for (let seed = 1; seed <= Math.max(1, c.seeds); seed++) runs.push(one(seed, c.events && seed === 1, idle));
  const out: ModelObs = { runs };
  if (c.longIdleUntil !== undefined) {
    const span = (k.lastTsUs - k.firstTsUs) / 1e6;
    out.long = one(1, c.events, Math.max(idle, c.longIdleUntil - span));
  }
  return out;
}
