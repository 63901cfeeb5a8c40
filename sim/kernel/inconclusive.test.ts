/**
 * The inconclusive path of kernel-diff (issue 17): when the kernel side could not observe what a
 * case waits for (the shared gc worker did not reap within the bound; `conntrack -E` lost
 * events), the case is "inconclusive" with the reason — never a model FAIL — and the run's exit
 * code stays 0. The kernel side is mocked: its observations are given, the model side is real.
 */
import test from 'ava';
import { LINKTYPE_RAW } from '../capture/linktype.js';
import { writePcap } from '../capture/pcap-write.js';
import type { KernelObs } from './case-types.js';
import { gcLag, LAG_OBSERVE_S } from './cases-table.js';
import type { Exec } from './exec.js';
import { runCase, type HarnessContext } from './harness.js';
import type { CtEvent } from './parse.js';
import { runExitCode } from './report.js';
import { GlobalSysctlGuard } from './sysctl-guard.js';

/** A kernel that saw the gc-lag traffic (every NEW) but, within the bound, no gc reap. */
function kernelWithoutReap(extra: Partial<KernelObs> = {}): { obs: KernelObs; cap: Uint8Array } {
  const plan = gcLag.plan();
  const t0 = 1_700_000_000_000_000;
  const frames: { tsUs: number; data: Uint8Array }[] = [];
  for (const st of plan.steps) {
    const hexes = st.op === 'burst' ? st.hex : st.op === 'raw' ? [st.hex] : [];
    const gap = st.op === 'burst' ? st.gapUs : 0;
    hexes.forEach((h, i) => frames.push({ tsUs: t0 + Math.round(st.at * 1e6) + i * gap, data: new Uint8Array(Buffer.from(h, 'hex')) }));
  }
  frames.sort((a, b) => a.tsUs - b.tsUs);
  const cap = writePcap(frames, LINKTYPE_RAW);
  const events: CtEvent[] = frames.slice(0, 200).map((f, i) => ({
    type: 'NEW', tsUs: f.tsUs,
    entry: { proto: 'udp', orig: `src=10.200.1.2 dst=10.200.2.2 sport=${30000 + i} dport=53 `, reply: '', unreplied: true, assured: false, timeout: 3 },
  }) as unknown as CtEvent);
  const obs: KernelObs = {
    frames: frames.length, frameTsUs: frames.map((f) => f.tsUs), firstTsUs: frames[0]!.tsUs, lastTsUs: frames[frames.length - 1]!.tsUs,
    endTsUs: frames[0]!.tsUs + LAG_OBSERVE_S * 1e6, stats: {}, entries: [], states: {}, events,
    timeline: [[0, 0], [5, 200], [LAG_OBSERVE_S - 1, 200]], captureDropped: 0, max: 262144, buckets: 262144, ...extra,
  };
  return { obs, cap };
}

const exec: Exec = () => ({ status: 0, stdout: '', stderr: '' });

function ctx(side: () => { obs: KernelObs; cap: Uint8Array }): HarnessContext {
  return {
    exec, tools: {}, hz: 250, version: '6.12', log: () => undefined,
    guard: new GlobalSysctlGuard({ read: () => '0', write: () => undefined }),
    kernelSide: async () => side(),
  };
}

test('gc reap not seen within the bound: inconclusive with the reason, not FAIL, exit 0', async (t) => {
  const r = await runCase(gcLag, ctx(() => kernelWithoutReap()), 0);
  t.is(r.verdict, 'inconclusive', r.reason);
  t.regex(r.reason ?? '', /gc did not reap the expired entries within 94\.5 s .*GC_SCAN_INTERVAL_MAX 60 s/);
  t.is(runExitCode([r]), 0);
});

test('events lost to ENOBUFS: inconclusive naming conntrack -E', async (t) => {
  const r = await runCase(gcLag, ctx(() => kernelWithoutReap({ eventsLost: true })), 0);
  t.is(r.verdict, 'inconclusive');
  t.regex(r.reason ?? '', /ENOBUFS/);
});

test('the bound is derived from the gc maximum interval: burst + timeout + 60 s + cycle margin', (t) => {
  // burst at 1.5 s, udp_timeout 3 s, GC_SCAN_INTERVAL_MAX 60 s (§3.1), 30 s for the cycle
  t.is(LAG_OBSERVE_S, 1.5 + 3 + 60 + 30);
  t.is(gcLag.plan().duration, LAG_OBSERVE_S);
});
