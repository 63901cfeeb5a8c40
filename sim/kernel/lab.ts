/**
 * The test network: three network namespaces — client, firewall, server — joined by two veth
 * pairs, with addresses in 10.200.0.0/16 only and no default route anywhere, so nothing can
 * leave the namespaces. Conntrack is activated in the firewall namespace by an nftables
 * ruleset that matches on `ct state` and accepts everything (the model does not model the
 * ruleset, so the firewall must let every packet through). Interfaces are created directly in
 * their namespaces: the host's own interfaces and routes are never touched.
 *
 * ```
 *  client 10.200.1.2 ─ vc │ vfc 10.200.1.1 ─ firewall ─ 10.200.2.1 vfs │ vs ─ 10.200.2.2 server
 * ```
 */
import { existsSync, readdirSync } from 'node:fs';
import { mustRun, type Exec } from './exec.js';

/** Addresses of the test network. */
export const ADDR = {
  client: '10.200.1.2',
  fwClient: '10.200.1.1',
  fwServer: '10.200.2.1',
  server: '10.200.2.2',
} as const;

/** The only addresses traffic may be sent to. */
export const LAB_PREFIX = '10.200.';

/** nftables ruleset of the firewall: conntrack on, every packet accepted, invalid/new counted. */
export const FIREWALL_RULESET = `table inet ctsim {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ct state invalid counter accept
    ct state new counter accept
  }
}
`;

/** Ruleset of an end host whose kernel must not answer crafted packets (no RST, no ICMP). */
export const SINK_RULESET = `table inet ctsim_sink {
  chain input {
    type filter hook input priority 0; policy drop;
  }
}
`;

const NETNS_DIR = '/run/netns';
const NAME_RE = /^ctsim-kd-(\d+)-\d+-(?:c|fw|s)$/;

/** Options of one lab. */
export interface LabOptions {
  /** Make client and server drop all input (for crafted packet sequences). */
  sinks: boolean;
  /** Per-netns sysctls of the firewall namespace (net.netfilter.<name>). */
  sysctl: Readonly<Record<string, number>>;
  /** A NAT ruleset (nft text) for the firewall namespace. */
  nat?: string;
  /** Another ruleset (nft text) for the firewall namespace (e.g. SYNPROXY). */
  ruleset?: string;
}

/** One set of namespaces; `down()` is synchronous, idempotent and never throws. */
export class Lab {
  readonly c: string;
  readonly fw: string;
  readonly s: string;
  private created: string[] = [];

  constructor(private readonly exec: Exec, private readonly ip: string, private readonly nft: string, serial: number) {
    const base = `ctsim-kd-${process.pid}-${serial}`;
    this.c = `${base}-c`;
    this.fw = `${base}-fw`;
    this.s = `${base}-s`;
  }

  /** Path of a namespace handle (for setns). */
  static nsPath(name: string): string {
    return `${NETNS_DIR}/${name}`;
  }

  /** argv prefix running a command inside a namespace. */
  inNs(name: string, cmd: string, args: readonly string[] = []): [string, string[]] {
    return [this.ip, ['netns', 'exec', name, cmd, ...args]];
  }

  private run(name: string, cmd: string, args: readonly string[], input?: string): string {
    const [c, a] = this.inNs(name, cmd, args);
    return mustRun(this.exec, c, a, { input });
  }

  /** Writes a sysctl inside a namespace (`tee` into /proc/sys, no procps needed). */
  writeSysctl(name: string, key: string, value: number | string, optional = false): void {
    const path = `/proc/sys/${key.replace(/\./g, '/')}`;
    const [c, a] = this.inNs(name, 'tee', [path]);
    const r = this.exec(c, a, { input: `${value}\n` });
    if (r.status !== 0 && !optional) throw new Error(`cannot set ${key}=${value} in ${name}: ${r.stderr.trim()}`);
  }

  /** Reads a sysctl inside a namespace. */
  readSysctl(name: string, key: string): string {
    return this.run(name, 'cat', [`/proc/sys/${key.replace(/\./g, '/')}`]).trim();
  }

  /** Creates the namespaces, links, addresses, routes and rulesets. On failure, removes what it made. */
  up(opts: LabOptions): void {
    try {
      for (const n of [this.c, this.fw, this.s]) {
        mustRun(this.exec, this.ip, ['netns', 'add', n]);
        this.created.push(n);
        this.writeSysctl(n, 'net.ipv6.conf.all.disable_ipv6', 1, true);
        this.writeSysctl(n, 'net.ipv6.conf.default.disable_ipv6', 1, true);
        mustRun(this.exec, this.ip, ['-n', n, 'link', 'set', 'lo', 'up']);
      }
      mustRun(this.exec, this.ip, ['link', 'add', 'vc', 'netns', this.c, 'type', 'veth', 'peer', 'name', 'vfc', 'netns', this.fw]);
      mustRun(this.exec, this.ip, ['link', 'add', 'vs', 'netns', this.s, 'type', 'veth', 'peer', 'name', 'vfs', 'netns', this.fw]);
      const addr = (n: string, dev: string, a: string): void => {
        mustRun(this.exec, this.ip, ['-n', n, 'addr', 'add', `${a}/24`, 'dev', dev]);
        mustRun(this.exec, this.ip, ['-n', n, 'link', 'set', dev, 'up']);
      };
      addr(this.c, 'vc', ADDR.client);
      addr(this.fw, 'vfc', ADDR.fwClient);
      addr(this.fw, 'vfs', ADDR.fwServer);
      addr(this.s, 'vs', ADDR.server);
      mustRun(this.exec, this.ip, ['-n', this.c, 'route', 'add', '10.200.2.0/24', 'via', ADDR.fwClient]);
      mustRun(this.exec, this.ip, ['-n', this.s, 'route', 'add', '10.200.1.0/24', 'via', ADDR.fwServer]);
      this.writeSysctl(this.fw, 'net.ipv4.ip_forward', 1);
      for (const [k, v] of Object.entries(opts.sysctl)) this.writeSysctl(this.fw, `net.netfilter.${k}`, v);
      this.run(this.fw, this.nft, ['-f', '-'], FIREWALL_RULESET);
      if (opts.nat !== undefined) this.run(this.fw, this.nft, ['-f', '-'], opts.nat);
      if (opts.ruleset !== undefined) this.run(this.fw, this.nft, ['-f', '-'], opts.ruleset);
      if (opts.sinks) {
        this.run(this.c, this.nft, ['-f', '-'], SINK_RULESET);
        this.run(this.s, this.nft, ['-f', '-'], SINK_RULESET);
      }
      this.assertNoRouteOut();
    } catch (e) {
      this.down();
      throw e;
    }
  }

  /** Safety check: no namespace of the lab has a default route. */
  private assertNoRouteOut(): void {
    for (const n of [this.c, this.fw, this.s]) {
      const routes = mustRun(this.exec, this.ip, ['-n', n, '-4', 'route', 'show']);
      if (/^default/m.test(routes)) throw new Error(`namespace ${n} has a default route; refusing to run`);
    }
  }

  /** Removes the namespaces (their conntrack entries go with them). Returns problems; never throws. */
  down(): string[] {
    const problems: string[] = [];
    for (const n of [...this.created].reverse()) {
      const r = this.exec(this.ip, ['netns', 'del', n]);
      if (r.status !== 0 && existsSync(Lab.nsPath(n))) problems.push(`ip netns del ${n}: ${r.stderr.trim()}`);
    }
    this.created = [];
    return problems;
  }
}

/** Removes namespaces left by an earlier kernel-diff process that no longer runs. */
export function removeStaleLabs(exec: Exec, ip: string): string[] {
  let names: string[] = [];
  try { names = readdirSync(NETNS_DIR); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    const m = NAME_RE.exec(n);
    if (!m || Number(m[1]) === process.pid || existsSync(`/proc/${m[1]}`)) continue;
    if (exec(ip, ['netns', 'del', n]).status === 0) removed.push(n);
  }
  return removed;
}
