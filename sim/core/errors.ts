/**
 * Invariant violations: programming errors inside the simulator (an event scheduled in the past,
 * a corrupted table). Simulated outcomes (drops, evictions) are never errors; they are counters.
 */

/** Thrown when an internal invariant of the simulator is violated. Never caught by model code. */
export class SimInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimInvariantError';
  }
}

/**
 * Throw a {@link SimInvariantError} with `msg` unless `cond` holds.
 * Build expensive messages only on failure: pass a function instead of a string.
 */
export function invariant(cond: unknown, msg: string | (() => string)): asserts cond {
  if (!cond) throw new SimInvariantError(typeof msg === 'string' ? msg : msg());
}
