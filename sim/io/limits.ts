/**
 * Work limits checked before any work starts, each with the option that raises it. The CLI sets
 * them from its options for one command; library callers may pass their own.
 */
export const LIMITS = {
  /** Metric samples per run (duration / sample_interval + 1): `--max-samples`. */
  samplesPerRun: 1_000_000,
  /** Cases a sweep expands to: `ctsim sweep --max-cases`. */
  sweepCases: 100_000,
  /** Largest forward jump between consecutive capture timestamps, seconds: `ctsim replay --max-gap`. */
  replayGapSeconds: 3_600,
  /** Wall-clock seconds one call of a user policy's hook may run before the watchdog stops the run: `--hook-timeout`. */
  hookSeconds: 10,
};

export const DEFAULT_LIMITS = { ...LIMITS };
