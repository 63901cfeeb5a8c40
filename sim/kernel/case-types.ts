/**
 * What a kernel-diff case is: how to set the kernel up, what traffic to play, and how to judge
 * the kernel's observations against the model's replays of the same capture.
 */
import type { SysctlName } from '../conntrack/sysctl.js';
import type { ReplayResult } from '../replay/replay.js';
import type { Check } from './compare.js';
import type { CtEntry, CtEvent } from './parse.js';
import type { Plan } from './plan.js';

/** What the harness saw on the kernel side of one case. */
export interface KernelObs {
  /** Frames in the capture, and their timestamps (µs since the epoch). */
  frames: number;
  frameTsUs: number[];
  firstTsUs: number;
  lastTsUs: number;
  /** When `conntrack -S`/`-L` were read (µs since the epoch). */
  endTsUs: number;
  /** `conntrack -S`, summed over CPUs. */
  stats: Record<string, number>;
  /** `conntrack -L` at the end, and its per-state summary (model's key format). */
  entries: CtEntry[];
  states: Record<string, number>;
  /** `conntrack -E` (when the case listens). */
  events?: CtEvent[];
  /** [seconds since the first frame, nf_conntrack_count] from the driver's samples. */
  timeline: [number, number][];
  /** Packets tcpdump reported as dropped by the kernel (capture incomplete when > 0). */
  captureDropped: number;
  /** `conntrack -E` reported ENOBUFS: the kernel dropped event messages, the stream is incomplete. */
  eventsLost?: boolean;
  /** `/proc/net/stat/synproxy` of the firewall namespace summed over CPUs (cases with `readSynproxy`). */
  synproxy?: Record<string, number>;
  /** Global values in force during the case. */
  max: number;
  buckets: number;
}

/** One model replay of the case's capture. */
export interface ModelRun {
  seed: number;
  result: ReplayResult;
  /** Parsed `result.events`. */
  events?: CtEvent[];
}

/** The model side: one replay per seed, idle until the kernel's end time; optionally a longer one. */
export interface ModelObs {
  runs: ModelRun[];
  /** Seed 1 replayed with the clock running until `longIdleUntil` s after the first frame. */
  long?: ModelRun;
}

/** One case. */
export interface KernelCase {
  name: string;
  /** One line: what is compared. */
  title: string;
  /** The reference sections the case exercises. */
  reference: string;
  /** Global sysctls (changed only when the initial namespace tracks nothing). */
  global?: { max?: number; buckets?: number };
  /** Per-netns sysctls of the firewall namespace. */
  sysctl?: Partial<Record<SysctlName, number>>;
  /**
   * A NAT ruleset (nft text) loaded in the firewall namespace, and by the model with the lab's
   * routes (vfc: 10.200.1.0/24 @ 10.200.1.1, vfs: 10.200.2.0/24 @ 10.200.2.1). docs/nat.md.
   */
  nat?: string;
  /**
   * A filter/raw ruleset (nft text, docs/rules.md §8) loaded in the firewall namespace after the
   * lab's own, and by the model (with the same routes; together with `nat` when both are given).
   */
  rules?: string;
  /**
   * A filter ruleset (nft text) loaded in the firewall namespace only, for cases whose model side
   * is not a replay of the capture (SYNPROXY: the kernel's cookies cannot be checked by the model).
   */
  ruleset?: string;
  /** Read `/proc/net/stat/synproxy` in the firewall namespace at the end. */
  readSynproxy?: boolean;
  /** Run `conntrack -E` and compare event streams. */
  events: boolean;
  /** Client and server drop all input (crafted sequences). */
  sinks: boolean;
  /** Model seeds (1 for outcomes that do not depend on the hash key). */
  seeds: number;
  /** Also replay seed 1 until this many seconds after the first frame. */
  longIdleUntil?: number;
  /** Rough wall time in seconds (for the progress line). */
  expectSeconds: number;
  plan(): Plan;
  check(k: KernelObs, m: ModelObs): Check[];
  /**
   * Why the kernel side could not be observed (what the case waits for did not happen within
   * its bound), or undefined. A case with a reason is "inconclusive", never a model failure.
   */
  unobserved?(k: KernelObs): string | undefined;
  /** Short texts for the result table's kernel and model columns. */
  summary(k: KernelObs, m: ModelObs): { kernel: string; model: string };
}

/** Result of one case. */
export interface CaseResult {
  name: string;
  title: string;
  reference: string;
  /** inconclusive: the kernel side could not be observed (the reason says why); not a model failure. */
  verdict: 'pass' | 'FAIL' | 'inconclusive' | 'skipped' | 'error';
  kernel: string;
  model: string;
  checks: Check[];
  /** Why it was skipped or errored. */
  reason?: string;
  seconds: number;
}
