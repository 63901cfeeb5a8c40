import cliProgress from 'cli-progress';

/**
 * A progress bar on a terminal (stderr), showing simulated time, wall time and events/s.
 * Nothing is drawn when stderr is not a TTY (pipes, CI logs) or with --quiet.
 */
export function makeProgress(label: string, endUs: number, quiet: boolean): ((simUs: number, events: number) => void) & { stop(): void } {
  const enabled = !quiet && process.stderr.isTTY === true;
  if (!enabled) {
    const f = (() => undefined) as unknown as ((s: number, e: number) => void) & { stop(): void };
    f.stop = () => undefined;
    return f;
  }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {sim}/{end} s simulated | {wall} s wall | {rate} events/s`,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  const t0 = performance.now();
  bar.start(endUs, 0, { sim: '0', end: (endUs / 1e6).toFixed(0), wall: '0.0', rate: '0' });
  const f = ((simUs: number, events: number) => {
    const wall = (performance.now() - t0) / 1000;
    bar.update(simUs, { sim: (simUs / 1e6).toFixed(0), wall: wall.toFixed(1), rate: wall > 0 ? Math.round(events / wall).toLocaleString('en-US') : '0' });
  }) as ((s: number, e: number) => void) & { stop(): void };
  f.stop = () => bar.stop();
  return f;
}
