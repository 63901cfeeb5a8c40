/**
 * Deterministic sharding of a sweep: case k belongs to shard k mod N (round-robin over the grid,
 * so every shard gets a similar mix of scenarios, policies and parameters). The shard index comes
 * from `--shard i/N`, or, with `--shard N`, from the environment of an array job:
 * `SLURM_ARRAY_TASK_ID` (minus `SLURM_ARRAY_TASK_MIN` when set, so `--array=1-8` works too) or
 * `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs).
 */
import { InputError } from '../io/errors.js';

export interface Shard {
  index: number;
  count: number;
  /** Where the index came from: the flag, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX. */
  source: string;
}

const int = (s: string): number | undefined => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined);

/** Parses `--shard i/N` or `--shard N` (index from `env`). */
export function parseShard(text: string, env: Readonly<Record<string, string | undefined>> = process.env): Shard {
  const m = /^\s*(?:(\d+)\s*\/\s*)?(\d+)\s*$/.exec(text);
  const bad = (why: string): never => { throw new InputError(`--shard ${text}: ${why} (expected i/N, e.g. --shard 0/8, or N with the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)`); };
  if (!m) return bad('malformed');
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) return bad('the shard count must be an integer ≥ 1');
  let index: number;
  let source = '--shard';
  if (m[1] !== undefined) index = Number(m[1]);
  else {
    const slurm = env['SLURM_ARRAY_TASK_ID'];
    const k8s = env['JOB_COMPLETION_INDEX'];
    if (slurm !== undefined && slurm !== '') {
      const id = int(slurm);
      if (id === undefined) return bad(`SLURM_ARRAY_TASK_ID="${slurm}" is not an integer`);
      const minText = env['SLURM_ARRAY_TASK_MIN'];
      const min = minText !== undefined && minText !== '' ? int(minText) : 0;
      if (min === undefined) return bad(`SLURM_ARRAY_TASK_MIN="${minText}" is not an integer`);
      index = id - min;
      source = min === 0 ? 'SLURM_ARRAY_TASK_ID' : `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN`;
    } else if (k8s !== undefined && k8s !== '') {
      const id = int(k8s);
      if (id === undefined) return bad(`JOB_COMPLETION_INDEX="${k8s}" is not an integer`);
      index = id;
      source = 'JOB_COMPLETION_INDEX';
    } else {
      return bad('no shard index: give i/N, or run as a Slurm array task or a Kubernetes Indexed Job');
    }
  }
  if (index < 0 || index >= count) return bad(`shard index ${index} (from ${source}) is not in 0..${count - 1}`);
  return { index, count, source };
}

/** Whether case `k` belongs to the shard. */
export function inShard(k: number, s: Shard | null): boolean {
  return s === null || k % s.count === s.index;
}
