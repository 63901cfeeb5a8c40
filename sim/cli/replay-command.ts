/**
 * `ctsim replay <capture>`: a pcap/pcapng capture through the conntrack model (sim/replay).
 * Reads the file, validates the flags (bad input → InputError, exit 2), writes the optional
 * `--events` log atomically, and prints JSON or a readable table.
 */
import { LIMITS } from '../io/limits.js';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { CaptureError } from '../capture/pcap-read.js';
import { parseKernelVersion } from '../conntrack/create.js';
import {
  canonicalSysctlName, checkSysctlValue, isSysctlName, SYSCTL_NAMES, type SysctlName,
} from '../conntrack/sysctl.js';
import {
  replayCapture, DEFAULT_GC_BUCKETS_PER_MS, TimelineTooLongError, TimeJumpError, type ReplayOptions, type ReplayResult,
} from '../replay/replay.js';
import { closest } from '../scenario/suggest.js';
import { InputError } from '../io/errors.js';
import { readInputFile, writeFileAtomic } from '../io/files.js';
import { formatConntrackSLine } from '../conntrack/stats.js';
import { makeCaseProgress, progressMode } from './progress.js';
import { buildRoutes, loadRuleset, parseRouteArg, RulesetError, type RouteEntry } from '../rules/index.js';

/** Flags of `ctsim replay` as commander hands them over (strings; `--seed`/`--json` may be global). */
export interface ReplayCliOptions {
  sysctl?: string[];
  hz?: string;
  seed?: string;
  kernel?: string;
  memory?: string;
  gcBucketsPerMs?: string;
  idle?: string;
  sample?: string;
  events?: string;
  ruleset?: string;
  route?: string[];
  /** Write the final table, `conntrack -L` lines, to this file. */
  list?: string;
  json?: boolean;
}

/** Longest `--idle` (≈ 11.6 days: beyond the 5-day ESTABLISHED timeout). */
export const MAX_IDLE_SECONDS = 1_000_000;
/** Largest nf_conntrack_max the model accepts (per-entry storage is allocated up front). */
export const MAX_MODEL_ENTRIES = 16_777_216;

/** HZ values a kernel can be built with. */
export const HZ_VALUES = [100, 250, 300, 1000] as const;

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Parses one `--sysctl name=value` (the `net.netfilter.` prefix is allowed). */
export function parseSysctlFlag(text: string): [SysctlName, number] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InputError(`--sysctl ${text}: expected name=value, e.g. nf_conntrack_max=65536`);
  const raw = text.slice(0, eq).trim();
  const name = canonicalSysctlName(raw);
  if (!isSysctlName(name)) {
    const hint = closest(name, SYSCTL_NAMES);
    throw new InputError(`--sysctl ${text}: unknown sysctl "${raw}"${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  const vt = text.slice(eq + 1).trim();
  const value: unknown = /^[+-]?\d+$/.test(vt) ? Number(vt) : vt;
  const err = checkSysctlValue(name, value);
  if (err !== undefined) throw new InputError(`--sysctl ${text}: ${name}: ${err}`);
  return [name, value as number];
}

function num(flag: string, text: string, ok: (v: number) => boolean, expected: string): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(v) || !ok(v)) throw new InputError(`${flag} ${text}: expected ${expected}`);
  return v;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** `4G`, `512M`, `1073741824` → bytes (binary units). */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new InputError(`--memory ${text}: expected bytes or a size like 512M, 4G`);
  const v = Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  if (v < 1) throw new InputError(`--memory ${text}: must be at least 1 byte`);
  return v;
}

/** Turns validated flags into `ReplayOptions` (InputError for anything out of range). */
export function replayOptionsFrom(o: ReplayCliOptions): ReplayOptions {
  const sysctl: Partial<Record<SysctlName, number>> = {};
  for (const s of o.sysctl ?? []) {
    const [name, value] = parseSysctlFlag(s);
    sysctl[name] = value;
  }
  const opts: ReplayOptions = { sysctl };
  if (o.hz !== undefined) {
    opts.hz = num('--hz', o.hz, (v) => (HZ_VALUES as readonly number[]).includes(v), `one of ${HZ_VALUES.join(', ')}`);
  }
  if (o.seed !== undefined) opts.seed = num('--seed', o.seed, (v) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer');
  if (o.kernel !== undefined) {
    try {
      parseKernelVersion(o.kernel);
    } catch (e) {
      throw new InputError(`--kernel ${o.kernel}: ${(e as Error).message}`);
    }
    opts.version = o.kernel;
  }
  if (o.memory !== undefined) opts.memory = parseMemory(o.memory);
  if (o.gcBucketsPerMs !== undefined) opts.gcBucketsPerMs = num('--gc-buckets-per-ms', o.gcBucketsPerMs, (v) => v > 0, 'a positive number');
  if (o.idle !== undefined) opts.idleSeconds = num('--idle', o.idle, (v) => v >= 0 && v <= MAX_IDLE_SECONDS, `seconds, 0..${MAX_IDLE_SECONDS}`);
  if (o.sample !== undefined) opts.sampleSeconds = num('--sample', o.sample, (v) => v >= 1e-3 && v <= MAX_IDLE_SECONDS, 'seconds ≥ 0.001');
  if ((sysctl.nf_conntrack_max ?? 0) > MAX_MODEL_ENTRIES) {
    throw new InputError(`--sysctl nf_conntrack_max=${sysctl.nf_conntrack_max}: the model allocates storage for every possible entry up front; at most ${MAX_MODEL_ENTRIES} is supported`);
  }
  if (sysctl.nf_conntrack_max === 0) {
    const [major, minor] = parseKernelVersion(opts.version ?? '6.12');
    if (major * 1000 + minor >= 6019) {
      throw new InputError(`--sysctl nf_conntrack_max=0: "unlimited" is not accepted from v6.19 (minimum 1); kernel ${opts.version}`);
    }
  }
  opts.events = o.events !== undefined;
  opts.maxGapSeconds = LIMITS.replayGapSeconds;
  if (o.route !== undefined && o.route.length > 0) {
    const entries: RouteEntry[] = [];
    for (const r of o.route) {
      const e = parseRouteArg(r);
      if (typeof e === 'string') throw new InputError(`--route ${r}: ${e}`);
      entries.push(e);
    }
    const built = buildRoutes(entries);
    const route = o.route;
    if (!built.ok) throw new InputError(built.issues.map((i) => `--route ${route[i.index]}: ${i.message.replace(/routes\[(\d+)\]/g, (_, n: string) => `--route ${route[Number(n)]}`)}`));
    opts.routes = built.routes;
  }
  if (o.ruleset !== undefined) {
    const text = readInputFile(o.ruleset, 'ruleset file').toString('utf8');
    try {
      opts.ruleset = loadRuleset(text, o.ruleset, opts.routes);
    } catch (e) {
      if (e instanceof RulesetError) throw new InputError(e.message);
      throw e;
    }
  }
  return opts;
}

/** Captures at least this large (bytes) show progress on stderr. */
export const PROGRESS_MIN_BYTES = 16 * 2 ** 20;

/** Runs the command without touching stdout; returns what it would print. */
export function runReplay(capture: string, o: ReplayCliOptions): { stdout: string; result: ReplayResult } {
  const opts = replayOptionsFrom(o);
  const bytes = readInputFile(capture, 'capture file');
  const chunks: Buffer[] = [];
  if (o.events !== undefined) opts.eventSink = (c) => { chunks.push(Buffer.from(c, 'utf8')); };
  let result: ReplayResult;
  // progress for large captures only: a bar on a terminal, one line when done in a pipe
  const bar = bytes.length >= PROGRESS_MIN_BYTES ? makeCaseProgress(`replay ${basename(capture)}`, 1, progressMode(o as { quiet?: boolean; json?: boolean }), process.stderr, undefined, { simulated: false }) : undefined;
  if (bar) opts.onProgress = (read, total) => bar.tick(read, total);
  try {
    result = replayCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), capture, opts);
    bar?.done(`${result.frames.toLocaleString('en-US')} frames`);
  } catch (e) {
    if (e instanceof CaptureError) throw new InputError(e.message);
    if (e instanceof TimeJumpError) throw new InputError(`${capture}: ${e.message}`);
    if (e instanceof TimelineTooLongError) throw new InputError(`${capture}: --sample ${o.sample ?? 1}: ${e.message}`);
    throw e;
  } finally {
    bar?.stop();
  }
  if (o.events !== undefined) writeFileAtomic(o.events, Buffer.concat(chunks));
  if (o.list !== undefined) writeFileAtomic(o.list, Buffer.from(result.listing.map((l) => l + '\n').join(''), 'utf8'));
  const out = o.events !== undefined ? { ...result, eventsFile: o.events } : result;
  return { stdout: o.json ? JSON.stringify(out, null, 2) + '\n' : formatReplayTable(result, o.events), result };
}

/** Picks at most `n` evenly spaced timeline points, always keeping the first and the last. */
function thin<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n - 1; i++) out.push(xs[Math.floor((i * (xs.length - 1)) / (n - 1))]!);
  out.push(xs[xs.length - 1]!);
  return out;
}

/** What the checksum line of the report says. */
function checksumLine(r: ReplayResult): string {
  if (!r.checksumsVerified) return 'not verified (nf_conntrack_checksum=0)';
  const bad = r.malformedReasons['bad_checksum'] ?? 0;
  let s = `verified (nf_conntrack_checksum=1): ${bad} bad`;
  if (r.checksumPartial > 0) {
    s += `; ${r.checksumPartial} TCP/UDP packets carry offloaded (partial) checksums — sent by the capturing ` +
      'host before its NIC filled them in; not verifiable, tracked like good ones (the kernel does not verify ' +
      'such packets either), so the results are the same as with --sysctl nf_conntrack_checksum=0';
  }
  return s;
}

/** The human-readable report. */
export function formatReplayTable(r: ReplayResult, eventsFile?: string): string {
  const L: string[] = [];
  const kv = (o: Record<string, number>, all: boolean) =>
    Object.entries(o).filter(([, v]) => all || v !== 0).map(([k, v]) => `${k}=${v}`).join(' ') || '(all zero)';
  L.push(`capture   ${r.file}: ${r.frames} frames, ${r.ipPackets} IP packets, ${r.durationSeconds} s simulated`);
  const dropped = r.rules === undefined ? `dropped by conntrack ${r.dropped}` : `dropped by conntrack or rules ${r.dropped}; rejected ${r.rejected}`;
  L.push(`skipped   non-IP ${r.nonIp}, fragments ${r.fragments}, truncated link ${r.truncatedLink}, bad IP header ${r.badIpHeader}; reordered ${r.reordered}; malformed ${r.malformed}; ${dropped}`);
  if (r.malformed > 0) {
    L.push(`malformed ${kv(r.malformedReasons, false).replace(/=/g, ' ')}; first at frame ${r.malformedFrames.join(', ')}${r.malformed > r.malformedFrames.length ? ', …' : ''}`);
  }
  L.push(`checksums ${checksumLine(r)}`);
  L.push(`table     count ${r.count} / max ${r.max}, ${r.buckets} buckets, HZ ${r.hz}`);
  L.push('conntrack -S (the model\'s totals, printed as conntrack-tools does, on one CPU):');
  L.push(formatConntrackSLine(r.stats, 0, r.version));
  L.push(`model     ${kv(r.model, false)}`);
  const states = Object.entries(r.states);
  L.push(`states    ${states.length === 0 ? '(none)' : ''}`);
  const w = Math.max(0, ...states.map(([k]) => k.length));
  for (const [k, v] of states) L.push(`  ${k.padEnd(w)}  ${String(v).padStart(8)}`);
  const peak = r.timeline.reduce((m, p) => Math.max(m, p[1]), 0);
  L.push(`timeline  (seconds: count; peak ${peak})`);
  L.push(`  ${thin(r.timeline, 12).map(([s, c]) => `${s}: ${c}`).join(', ')}`);
  if (r.rules !== undefined) {
    L.push('rules     (ruleset line, table/chain at hook: packets, bytes, dropped or rejected; the rule)');
    const lw = Math.max(0, ...r.rules.map((x) => String(x.line).length));
    const where = r.rules.map((x) => `${String(x.line).padStart(lw)}  ${x.table}/${x.chain} ${x.hook}`);
    const ww = Math.max(0, ...where.map((x) => x.length));
    r.rules.forEach((x, i) => L.push(`  ${where[i]!.padEnd(ww)}  packets ${x.packets} bytes ${x.bytes} drops ${x.drops}  ${x.text}`));
  }
  if (eventsFile !== undefined) L.push(`events    ${r.eventLines ?? 0} lines → ${eventsFile}`);
  return L.join('\n') + '\n';
}

/** Adds `replay <capture>` to the ctsim program. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('send every IPv4/IPv6 packet of a pcap/pcapng capture, at its timestamp, through the conntrack model')
    .argument('<capture>', 'capture file (.pcap or .pcapng)')
    .addOption(new Option('--sysctl <name=value>', 'set a net.netfilter sysctl, e.g. nf_conntrack_max=65536 (repeatable)').argParser(collect))
    .addOption(new Option('--hz <n>', 'kernel HZ').choices(HZ_VALUES.map(String)).default('250'))
    .addOption(new Option('--seed <n>', 'seed of the bucket hash key (default 1)'))
    .addOption(new Option('--kernel <version>', 'kernel version major.minor (default 6.12)'))
    .addOption(new Option('--memory <size>', 'usable RAM for the default table size, e.g. 4G (default 24G)'))
    .addOption(new Option('--gc-buckets-per-ms <n>', `gc scan speed (default ${DEFAULT_GC_BUCKETS_PER_MS})`))
    .addOption(new Option('--idle <seconds>', 'keep the clock running after the last packet (gc and timeouts act)'))
    .addOption(new Option('--sample <seconds>', 'timeline sampling period (default 1)'))
    .addOption(new Option('--max-gap <seconds>', 'largest forward jump between consecutive packet timestamps to simulate (default 3600)'))
    .addOption(new Option('--events <file>', 'write a conntrack -E style log of every event'))
    .addOption(new Option('--ruleset <file>', 'nft ruleset (type filter and type nat chains) applied to the capture (docs/rules.md)'))
    .addOption(new Option('--route <prefix=ifname[@addr]>', 'a route: packets to PREFIX leave by IFNAME (whose own address is ADDR, for masquerade); packets from it arrive on IFNAME (repeatable)').argParser(collect))
    .addOption(new Option('--list <file>', 'write the final table as conntrack -L prints it (one entry per line) to FILE'))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
The model boots 60 s before the first packet (the gc worker is on its steady schedule) and acts
as the forwarding firewall that saw both directions. Non-IP frames, non-first fragments and
unusable IP headers are skipped and counted. JSON holds stats (conntrack -S counters), model
(simulator breakdowns), count, max, buckets, states (like conntrack -L, e.g. "tcp ESTABLISHED
ASSURED"), timeline ([seconds since the first packet, count]) and listing (the final table as
conntrack -L prints it; --list FILE writes the same lines). With --ruleset the model is a NAT
gateway: a capture taken on its inside (both directions) is replayed with the replies seen from
the outside (docs/nat.md §6.1), and JSON gains nat (found, insert_failed, clash_resolve, mappings, …).
Filter and raw chains of the ruleset run in the kernel's hook order around conntrack (notrack,
ct state, drop, reject, ...; docs/rules.md §8); JSON then gains rules (per rule: line, table,
chain, hook, text, packets, bytes, drops) and rejected counts packets a reject rule answered.

Checksums are verified when nf_conntrack_checksum is 1 (the default). Offloaded (partial)
TCP/UDP checksums, which a capture of a host's own traffic shows for every packet it sent, are
counted apart and not treated as bad (the kernel does not verify them either). A capture whose
checksums were damaged after the fact: --sysctl nf_conntrack_checksum=0. When 10% or more of
the IP packets are malformed, a warning on stderr (and in the JSON) names the reasons and the
first frames.

Examples:
  $ ctsim replay scenarios/captures/syn-flood.pcap --sysctl nf_conntrack_max=99 --idle 75 --json
  $ ctsim replay scenarios/captures/web.pcap --sysctl net.netfilter.nf_conntrack_tcp_timeout_time_wait=30 --events ev.log
  $ ctsim replay my-host.pcapng --sysctl nf_conntrack_checksum=0
  $ ctsim replay inside.pcap --ruleset nat.nft --route 10.98.0.0/24=f1 --route 0.0.0.0/0=wan0@203.0.113.1 --json
  $ ctsim replay docs/captures/nat-gw-inside.pcap --ruleset docs/captures/nat-gw.nft --route 10.98.0.0/24=f1 --route 0.0.0.0/0=wan0@203.0.113.1 --list table.txt
  $ ctsim replay scenarios/captures/syn-flood.pcap --ruleset notrack-syn.nft   (e.g. table inet raw { chain pre { type filter hook prerouting priority raw; tcp flags syn notrack } })

Exit codes: 0 ok; 2 bad input (truncated or corrupt capture, with the packet index; unsupported
link type; unknown sysctl or a value out of the kernel's range; bad flag; a ruleset outside the
supported subset, as file:line:col; an ambiguous --route); 1 run failed.

Routes: a packet enters on the interface that routes its source and leaves by the one that
routes its destination (longest prefix; 0.0.0.0/0 is the default route). The ruleset's
interface names (iif, oif, iifname, oifname) must be interfaces of the routes.`)
    .action((capture: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ReplayCliOptions & { quiet?: boolean }>();
      const { stdout, result } = runReplay(capture, o);
      if (!o.quiet) for (const w of result.warnings) process.stderr.write(`ctsim replay: WARNING: ${capture}: ${w}\n`);
      process.stdout.write(stdout);
    });
}
