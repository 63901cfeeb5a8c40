/**
 * Runs one case against the live kernel: namespaces up, global sysctls set (only while the
 * initial namespace tracks nothing), tcpdump and `conntrack -E` started in the firewall
 * namespace, the traffic driver played, `conntrack -S`/`-L` read, everything stopped and
 * removed, then the capture replayed through the model and the case's checks applied.
 * Cleanup runs in `finally`; `emergencyCleanup()` does the same synchronously for signal and
 * exit handlers.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../capture/pcap-read.js';
import type { CaseResult, KernelCase, KernelObs } from './case-types.js';
import { DRIVER_PY } from './driver-py.js';
import { Background, killAllBackground, mustRun, sleep, type Exec } from './exec.js';
import { Lab } from './lab.js';
import { runModel, type ModelEnv } from './model-side.js';
import { parseSynproxyStat } from './parse-synproxy.js';
import { parseEvents, parseList, parseStats, summariseEntries } from './parse.js';
import { checkPlan } from './plan.js';
import { UnsafeSysctlError, type GlobalSysctlGuard } from './sysctl-guard.js';

/** What every case run needs. */
export interface HarnessContext extends ModelEnv {
  exec: Exec;
  /** Absolute paths of ip, nft, conntrack, tcpdump, python3. */
  tools: Record<string, string>;
  guard: GlobalSysctlGuard;
  /** Keep each case's files in `<keepDir>/<case>` instead of a removed temporary directory. */
  keepDir?: string;
  /** Also copy each case's capture and `conntrack -S` text to `<captureDir>/<case>.pcap` / `.conntrack-S.txt`. */
  captureDir?: string;
  log(line: string): void;
  /** Replaces the live kernel side (tests: a mocked kernel whose observations are given). */
  kernelSide?: (c: KernelCase, dir: string) => Promise<{ obs: KernelObs; cap: Uint8Array }>;
}

/** Wait before stopping tcpdump: longer than its 1000 ms packet-buffer timeout. */
export const TCPDUMP_FLUSH_MS = 1500;

/** Netlink receive buffer of `conntrack -E` (bytes): large enough for a gc burst of a few thousand DESTROY messages. */
export const EVENTS_BUFFER_BYTES = 8 * 1024 * 1024;

const activeLabs = new Set<Lab>();
let activeGuard: GlobalSysctlGuard | undefined;

/** Synchronous cleanup for signal/exit handlers: stop children, remove namespaces, restore sysctls. */
export function emergencyCleanup(): string[] {
  killAllBackground();
  const problems: string[] = [];
  for (const lab of activeLabs) problems.push(...lab.down());
  activeLabs.clear();
  if (activeGuard) problems.push(...activeGuard.restore());
  return problems;
}

async function waitForText(path: string, text: string, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    try { if (readFileSync(path, 'utf8').includes(text)) return true; } catch { /* not yet */ }
    await sleep(50);
  }
  return false;
}

interface DriverOut { samples: [number, number][]; errors: string[]; ended: boolean }

function readDriver(path: string): DriverOut {
  const out: DriverOut = { samples: [], errors: [], ended: false };
  let text = '';
  try { text = readFileSync(path, 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const o = JSON.parse(line) as { s?: [number, number]; error?: string; end?: number };
      if (o.s) out.samples.push(o.s);
      if (o.error) out.errors.push(o.error);
      if (o.end !== undefined) out.ended = true;
    } catch { out.errors.push(`driver printed: ${line.slice(0, 200)}`); }
  }
  return out;
}

/** The nft text a case loads in the firewall namespace: its NAT ruleset and its filter/raw rules. */
export function caseRuleset(c: KernelCase): string | undefined {
  const parts = [c.nat, c.rules].filter((x): x is string => x !== undefined);
  return parts.length === 0 ? undefined : parts.join('\n');
}

/** Runs the kernel side of a case; returns what it saw and the capture bytes. */
async function kernelSide(c: KernelCase, ctx: HarnessContext, dir: string, serial: number): Promise<{ obs: KernelObs; cap: Uint8Array }> {
  const { exec, tools, guard } = ctx;
  const plan = c.plan();
  checkPlan(plan);
  const lab = new Lab(exec, tools.ip, tools.nft, serial);
  activeLabs.add(lab);
  activeGuard = guard;
  const bg: Background[] = [];
  try {
    const ruleset = caseRuleset(c);
    lab.up({
      sinks: c.sinks, sysctl: c.sysctl ?? {}, ...(ruleset !== undefined ? { nat: ruleset } : {}),
      ...(c.ruleset !== undefined ? { ruleset: c.ruleset } : {}),
    });
    if (c.global?.max !== undefined) guard.set('nf_conntrack_max', c.global.max);
    if (c.global?.buckets !== undefined) guard.set('nf_conntrack_buckets', c.global.buckets);
    const max = guard.get('nf_conntrack_max');
    const buckets = guard.get('nf_conntrack_buckets');
    writeFileSync(join(dir, 'driver.py'), DRIVER_PY);
    writeFileSync(join(dir, 'plan.json'), JSON.stringify({
      ...plan, server: '10.200.2.2', ns: { c: Lab.nsPath(lab.c), s: Lab.nsPath(lab.s) },
    }));
    const capPath = join(dir, 'capture.pcap');
    const [tc, ta] = lab.inNs(lab.fw, tools.tcpdump, ['-i', 'any', '-Q', 'in', '-U', '-n', '-B', '16384', '-w', capPath]);
    const td = new Background(tc, ta, join(dir, 'tcpdump.out'), join(dir, 'tcpdump.err'));
    bg.push(td);
    if (!await waitForText(join(dir, 'tcpdump.err'), 'listening on', 10_000)) throw new Error('tcpdump did not start');
    let ev: Background | undefined;
    if (c.events) {
      const [ec, ea] = lab.inNs(lab.fw, tools.conntrack, ['-E', '-o', 'timestamp', '-b', String(EVENTS_BUFFER_BYTES)]);
      ev = new Background(ec, ea, join(dir, 'events.txt'), join(dir, 'events.err'));
      bg.push(ev);
    }
    await sleep(400);
    const [dc, da] = lab.inNs(lab.fw, tools.python3, [join(dir, 'driver.py'), join(dir, 'plan.json')]);
    const driver = new Background(dc, da, join(dir, 'driver.jsonl'), join(dir, 'driver.err'));
    bg.push(driver);
    const code = await driver.wait((plan.duration + 40) * 1000);
    await sleep(300);
    const endTsUs = Date.now() * 1000;
    const [sc, sa] = lab.inNs(lab.fw, tools.conntrack, ['-S']);
    const statsText = mustRun(exec, sc, sa);
    const [lc, la] = lab.inNs(lab.fw, tools.conntrack, ['-L']);
    const listText = mustRun(exec, lc, la);
    writeFileSync(join(dir, 'stats.txt'), statsText);
    writeFileSync(join(dir, 'list.txt'), listText);
    let synproxyText: string | undefined;
    if (c.readSynproxy) {
      const [pc, pa] = lab.inNs(lab.fw, 'cat', ['/proc/net/stat/synproxy']);
      synproxyText = mustRun(exec, pc, pa);
      writeFileSync(join(dir, 'synproxy.txt'), synproxyText);
    }
    // tcpdump hands packets over in blocks flushed at the latest after its 1 s buffer timeout;
    // stopping it earlier lost the last packets of the capture (udp-stream's final request).
    // (--immediate-mode would not lose them but drops packets of the 1200-SYN bursts.)
    await sleep(TCPDUMP_FLUSH_MS);
    if (ev) await ev.stop('SIGINT');
    await td.stop('SIGINT');
    const d = readDriver(join(dir, 'driver.jsonl'));
    if (code !== 0 || d.errors.length > 0 || !d.ended) {
      let err = '';
      try { err = readFileSync(join(dir, 'driver.err'), 'utf8').trim(); } catch { /* none */ }
      throw new Error(`traffic driver failed (exit ${code}): ${[...d.errors, err].filter((x) => x).join('; ').slice(0, 500)}`);
    }
    const tdErr = readFileSync(join(dir, 'tcpdump.err'), 'utf8');
    const dropped = Number(/(\d+) packets? dropped by kernel/.exec(tdErr)?.[1] ?? 0);
    const cap = new Uint8Array(readFileSync(capPath));
    if (ctx.captureDir) {
      mkdirSync(ctx.captureDir, { recursive: true });
      writeFileSync(join(ctx.captureDir, `${c.name}.pcap`), cap);
      writeFileSync(join(ctx.captureDir, `${c.name}.conntrack-S.txt`), statsText);
    }
    const frameTsUs: number[] = [];
    for (const f of readCapture(cap, capPath)) frameTsUs.push(f.tsUs);
    if (frameTsUs.length === 0) throw new Error('the capture is empty');
    const firstTsUs = frameTsUs[0];
    const entries = parseList(listText);
    const obs: KernelObs = {
      frames: frameTsUs.length, frameTsUs, firstTsUs, lastTsUs: frameTsUs[frameTsUs.length - 1], endTsUs,
      stats: parseStats(statsText), entries, states: summariseEntries(entries),
      timeline: d.samples.map(([t, n]) => [Math.round(t * 1e6 - firstTsUs) / 1e6, n]),
      captureDropped: dropped, max, buckets,
      ...(synproxyText !== undefined ? { synproxy: parseSynproxyStat(synproxyText) } : {}),
    };
    if (c.events) {
      obs.events = parseEvents(readFileSync(join(dir, 'events.txt'), 'utf8'));
      let evErr = '';
      try { evErr = readFileSync(join(dir, 'events.err'), 'utf8'); } catch { /* none */ }
      if (/ENOBUFS/.test(evErr)) obs.eventsLost = true;
    }
    return { obs, cap };
  } finally {
    for (const b of bg) await b.stop('SIGKILL', 2000);
    const problems = [...lab.down(), ...guard.restore()];
    activeLabs.delete(lab);
    for (const p of problems) ctx.log(`warning: ${p}`);
  }
}

/**
 * Why a case's kernel side is incomplete: the case's own condition (what it waited for did not
 * happen within its bound), events lost by `conntrack -E`, packets lost by tcpdump.
 */
export function unobservedReasons(c: KernelCase, k: KernelObs): string[] {
  const out: string[] = [];
  const own = c.unobserved?.(k);
  if (own) out.push(own);
  if (k.eventsLost) out.push('conntrack -E lost event messages (ENOBUFS): the kernel\'s event stream is incomplete');
  if (k.captureDropped > 0) out.push(`tcpdump dropped ${k.captureDropped} packet(s): the capture the model replays is incomplete`);
  return out;
}

/** Runs one case end to end. Never throws: failures become an 'error' or 'skipped' result. */
export async function runCase(c: KernelCase, ctx: HarnessContext, serial: number): Promise<CaseResult> {
  const t0 = Date.now();
  const base = { name: c.name, title: c.title, reference: c.reference, checks: [], kernel: '', model: '' };
  const secs = (): number => Math.round((Date.now() - t0) / 100) / 10;
  let dir: string;
  if (ctx.keepDir) {
    dir = join(ctx.keepDir, c.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  } else {
    dir = mkdtempSync(join(tmpdir(), `ctsim-kd-${c.name}-`));
  }
  try {
    if (c.global && ctx.guard.initCount() !== 0) {
      return { ...base, verdict: 'skipped', seconds: secs(),
        reason: `the initial network namespace tracks ${ctx.guard.initCount()} connection(s); global sysctls left alone` };
    }
    const { obs, cap } = ctx.kernelSide ? await ctx.kernelSide(c, dir) : await kernelSide(c, ctx, dir, serial);
    const model = runModel(c, cap, `${c.name}.pcap`, obs, ctx);
    if (ctx.keepDir) {
      writeFileSync(join(dir, 'model-events.txt'), model.long?.result.events ?? model.runs[0].result.events ?? '');
      writeFileSync(join(dir, 'observations.json'), JSON.stringify({
        kernel: { ...obs, frameTsUs: undefined },
        model: model.runs.map((r) => ({ seed: r.seed, ...r.result, events: undefined })),
        long: model.long ? { ...model.long.result, events: undefined } : undefined,
      }, null, 1));
    }
    const checks = c.check(obs, model);
    const sum = c.summary(obs, model);
    const why = unobservedReasons(c, obs);
    if (why.length > 0) return { ...base, ...sum, checks, verdict: 'inconclusive', reason: why.join('; '), seconds: secs() };
    return { ...base, ...sum, checks, verdict: checks.every((x) => x.pass) ? 'pass' : 'FAIL', seconds: secs() };
  } catch (e) {
    const skip = e instanceof UnsafeSysctlError;
    return { ...base, verdict: skip ? 'skipped' : 'error', reason: (e as Error).message, seconds: secs() };
  } finally {
    if (!ctx.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}
