import { RngStreams } from '../core/rng.js';
import { Conntrack } from './conntrack.js';
import { HashKey } from './hash.js';
import { defaultSizing, roundBuckets } from './sizing.js';
import { defaultSysctls, SYSCTL_NAMES, type SysctlName, type SysctlValues } from './sysctl.js';

/** What determines a conntrack instance, as a scenario or the replay command gives it. */
export interface ConntrackSetup {
  /** Kernel version "major.minor". @defaultValue "6.12" */
  version?: string;
  /** @defaultValue 250 */
  hz?: number;
  /** Usable RAM in bytes: drives the default nf_conntrack_buckets / nf_conntrack_max (§1.2). @defaultValue 24 GiB */
  memory?: number;
  /** The `hashsize=` module parameter. */
  hashsize?: number;
  /** Sysctl values by kernel name (set after boot, as an operator would). */
  sysctl?: Partial<Record<SysctlName, number>>;
  /** Seed of the run: keys the bucket hash and the chain-length draws. */
  seed?: number;
  run?: number;
  /** A `conntrack -E` listener exists for the whole run. @defaultValue false */
  eventListener?: boolean;
}

export const DEFAULT_KERNEL_VERSION = '6.12';
export const DEFAULT_MEMORY = 24 * 1024 ** 3;

export function parseKernelVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v);
  if (!m) throw new RangeError(`kernel version "${v}": expected "major.minor", e.g. "6.12"`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * Resolves every sysctl: kernel defaults, then boot-time sizing from memory/hashsize, then the
 * explicit values. Writing nf_conntrack_buckets rounds up to a multiple of 512 and leaves
 * nf_conntrack_max alone, as the kernel does (§1.2).
 */
export function resolveSysctls(setup: ConntrackSetup): SysctlValues {
  const version = parseKernelVersion(setup.version ?? DEFAULT_KERNEL_VERSION);
  const s = defaultSysctls();
  const size = defaultSizing(setup.memory ?? DEFAULT_MEMORY, setup.hashsize, version);
  s.nf_conntrack_buckets = size.buckets;
  s.nf_conntrack_max = size.max;
  s.nf_conntrack_expect_max = 4 * Math.max(1, Math.floor(size.buckets / 256));
  for (const name of SYSCTL_NAMES) {
    const v = setup.sysctl?.[name];
    if (v !== undefined) s[name] = name === 'nf_conntrack_buckets' ? roundBuckets(v) : v;
  }
  return s;
}

/** Builds a conntrack instance with its hash key and random draws from named substreams. */
export function createConntrack(setup: ConntrackSetup): Conntrack {
  const streams = new RngStreams(setup.seed ?? 1, setup.run ?? 0);
  const hk = streams.get('conntrack/hash-key');
  const chain = streams.get('conntrack/chainlen');
  return new Conntrack({
    hz: setup.hz ?? 250,
    version: parseKernelVersion(setup.version ?? DEFAULT_KERNEL_VERSION),
    sysctl: resolveSysctls(setup),
    hashKey: new HashKey(hk.int32(), hk.int32(), hk.int32(), hk.int32()),
    random: () => chain.uniform(),
    eventListener: setup.eventListener ?? false,
  });
}
