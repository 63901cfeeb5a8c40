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

/** Seconds as "42 s", "12.5 min" or "1.50 h" (progress lines and ETAs). */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 90 * 60) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

/** Overall progress of a command made of several cases (runs, arms, sweep or regress cases). */
export interface CaseProgress {
  /** Inside the running case: `simUs` of `endUs` simulated (a fraction of one case). */
  tick(simUs: number, endUs: number): void;
  /** A case finished: `label` names it, `simUs` is the simulated time it covered (0 if unknown). */
  done(label: string, simUs?: number): void;
  /** Clears the bar (terminal). */
  stop(): void;
}

/** How progress is shown: a bar on a terminal, one line per finished case in a pipe, or nothing. */
export type ProgressMode = 'bar' | 'lines' | 'off';

/**
 * The progress mode for stderr: nothing with --quiet; a bar on a terminal (not with --json,
 * which keeps the terminal for the document); one line per finished case when stderr is a pipe
 * or a file (CI logs, `2>log`), so a long command is never silent.
 */
export function progressMode(o: { quiet?: boolean | undefined; json?: boolean | undefined }, isTTY = process.stderr.isTTY === true): ProgressMode {
  if (o.quiet === true) return 'off';
  if (isTTY) return o.json === true ? 'off' : 'bar';
  return 'lines';
}

/**
 * Progress over `total` cases: cases done / total, the simulated time covered, wall time and an
 * ETA from the share done so far (including the running case's simulated fraction). On a
 * terminal a bar on stderr; in a pipe one line per finished case on stderr:
 * `compare mixed: 3/10 kernel run 2 | 60 s simulated | 4.1 s wall | ETA 9.6 s`.
 * Uses the wall clock: CLI shell only. With `simulated: false` the ticks are another measure of
 * the case's progress (bytes of a capture read) and no simulated time is shown.
 */
export function makeCaseProgress(what: string, total: number, mode: ProgressMode,
  out: { write(s: string): unknown } = process.stderr, clock: () => number = () => performance.now(),
  o: { simulated?: boolean } = {}): CaseProgress {
  const showSim = o.simulated !== false;
  const t0 = clock();
  let done = 0, simDoneUs = 0, frac = 0, fracUs = 0, lastDraw = -Infinity, simKnown = false;
  const simPart = (us: number): string => (simKnown && showSim ? ` | ${formatSeconds(us / 1e6)} simulated` : '');
  const eta = (): number => {
    const share = (done + frac) / Math.max(1, total);
    const wall = (clock() - t0) / 1000;
    return share > 0 ? wall * (1 - share) / share : Infinity;
  };
  const wallS = (): number => (clock() - t0) / 1000;
  if (mode === 'off') return { tick: () => undefined, done: () => undefined, stop: () => undefined };
  if (mode === 'lines') {
    return {
      tick: () => undefined,
      done(label, simUs = 0) {
        done++; simDoneUs += simUs; frac = 0;
        if (simUs > 0) simKnown = true;
        const left = done >= total ? 'done' : `ETA ${formatSeconds(eta())}`;
        out.write(`${what}: ${done}/${total} ${label}${simPart(simDoneUs)} | ${formatSeconds(wallS())} wall | ${left}\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: out as NodeJS.WriteStream,
    format: `${what} [{bar}] {casesDone}/{casesTotal}{sim} | {wallTime} wall | ETA {left} | {label}`,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  const payload = (label: string) => ({ casesDone: done, casesTotal: total, sim: simPart(simDoneUs + fracUs), wallTime: formatSeconds(wallS()), left: formatSeconds(eta()), label });
  let label = '';
  bar.start(1000 * total, 0, payload(label));
  return {
    tick(simUs, endUs) {
      frac = endUs > 0 ? Math.min(1, simUs / endUs) : 0;
      fracUs = simUs;
      simKnown = true;
      const now = clock();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      bar.update(Math.round(1000 * (done + frac)), payload(label));
    },
    done(l, simUs = 0) {
      done++; simDoneUs += simUs; frac = 0; fracUs = 0; label = l;
      if (simUs > 0) simKnown = true;
      bar.update(1000 * done, payload(label));
    },
    stop: () => bar.stop(),
  };
}
