/**
 * SYNPROXY under a spoofed SYN flood with real clients (docs/synproxy.md). The kernel side loads
 * the selftest's rule shape (`nft_synproxy.sh`) in the firewall namespace with
 * `nf_conntrack_tcp_loose = 0`, sends spoofed SYNs from the client side, then opens real TCP
 * connections through the proxy. The model side is not a replay of the capture (the client ACKs
 * in it carry the kernel's cookies, which the model's keyed hash cannot validate): it is the same
 * plan played through the model's SYNPROXY path, packet for packet, with the model's own cookies
 * echoed by its clients. Compared: `/proc/net/stat/synproxy`, the final `conntrack -L` (no
 * entry for a spoofed source), and the `invalid`/`drop` counters.
 */
import { IPPROTO_TCP, TH_ACK, TH_FIN, TH_PSH, TH_SYN } from '../conntrack/constants.js';
import { NF_ACCEPT } from '../conntrack/conntrack.js';
import { createConntrack } from '../conntrack/create.js';
import { summariseStates } from '../conntrack/listing.js';
import { Pkt } from '../conntrack/packet.js';
import { parseIPv4 } from '../conntrack/addr.js';
import { Rng } from '../core/rng.js';
import { SynproxyPath } from '../synproxy/path.js';
import { NF_STOLEN, SP_OPT_MSS, SP_OPT_SACK_PERM, SP_OPT_TIMESTAMP, SP_OPT_WSCALE, SYNPROXY_STAT_COLUMNS, Synproxy } from '../synproxy/synproxy.js';
import type { KernelCase, KernelObs, ModelObs } from './case-types.js';
import { sameCounts, type Check } from './compare.js';
import { ADDR } from './lab.js';
import type { PacketSpec } from '../capture/encode.js';
import { encodePacket } from '../capture/encode.js';
import type { Plan, Step } from './plan.js';
import { SYN } from './plan.js';

/** Spoofed SYNs, their spacing, the real connections (ports), and when they start. */
const FLOOD = 400;
const FLOOD_GAP_US = 1000;
const PORTS = [8080, 8081, 8082];
const CONN_AT = [1.0, 1.3, 1.6];
const REQUEST = 100, RESPONSE = 500;

const RULESET = `table inet ctsim_synproxy {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    iifname "vfc" tcp dport 8080-8089 tcp flags syn notrack
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state new,established accept
    iifname "vfc" tcp dport 8080-8089 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}
`;

/** The spoofed sources: 10.200.1.100–199 (no such hosts), ports 20000+, to the server's 8080. */
function floodSpec(i: number): PacketSpec {
  return {
    src: `10.200.1.${100 + (i % 100)}`, dst: ADDR.server, sport: 20000 + i, dport: PORTS[0]!,
    tcp: { flags: SYN, seq: (i * 7919 + 1) >>> 0, ack: 0, win: 64240, mss: 1460, sackPerm: true },
  };
}

function plan(): Plan {
  const steps: Step[] = [{
    at: 0.1, op: 'burst', side: 'c', dst: ADDR.server, gapUs: FLOOD_GAP_US,
    hex: Array.from({ length: FLOOD }, (_, i) => Buffer.from(encodePacket(floodSpec(i))).toString('hex')),
  }];
  PORTS.forEach((port, i) => steps.push({ at: CONN_AT[i]!, op: 'tcp', port, request: REQUEST, response: RESPONSE, serverClose: 0.05, clientClose: 0.3 }));
  return { duration: 3, sampleMs: 100, steps };
}

/** What the model's run of the plan gives. */
interface ModelSide {
  synproxy: Record<string, number>;
  states: Record<string, number>;
  stats: Record<string, number>;
  /** Real connections whose every packet got through (none stolen or dropped unexpectedly). */
  connected: number;
}

/** Plays the plan through the model's SYNPROXY path (docs/synproxy.md §4). */
export function modelSynproxyPlan(k: { max: number; buckets: number }): ModelSide {
  const ct = createConntrack({
    hz: 250, seed: 1, sysctl: { nf_conntrack_max: k.max, nf_conntrack_buckets: k.buckets, nf_conntrack_tcp_loose: 0 },
  });
  const sp = new Synproxy(ct, new Rng('kernel-diff/synproxy/cookie-secret'));
  const path = new SynproxyPath(ct, sp, { mss: 1460, wscale: 7, options: SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_TIMESTAMP | SP_OPT_SACK_PERM }, -1);
  const p = new Pkt();
  const C = parseIPv4(ADDR.client), S = parseIPv4(ADDR.server);
  const send = (us: number, fromClient: boolean): number => { ct.setNow(Math.round(us)); return path.packet(p, fromClient); };
  const head = (src: number, sport: number, dst: number, dport: number, flags: number, seq: number, ack: number, len = 0): Pkt => {
    p.reset(); p.proto = IPPROTO_TCP; p.src = src; p.sport = sport; p.dst = dst; p.dport = dport;
    p.tcpFlags = flags; p.seq = seq >>> 0; p.ack = ack >>> 0; p.win = 502; p.dataLen = len; p.len = 52 + len;
    return p;
  };
  for (let i = 0; i < FLOOD; i++) {
    const f = floodSpec(i);
    head(parseIPv4(f.src), f.sport!, S, f.dport!, TH_SYN, f.tcp!.seq!, 0);
    p.optMss = 1460; p.optSackPerm = true; p.win = 64240;
    send((0.1 + i * FLOOD_GAP_US / 1e6) * 1e6, true);
  }
  let connected = 0;
  PORTS.forEach((port, i) => {
    const t = CONN_AT[i]! * 1e6, sport = 40000 + i, ic = 1000 + i * 100000, is = 5000000 + i * 100000;
    let ok = true;
    const expect = (v: number, want: number): void => { if (v !== want) ok = false; };
    // client SYN (Linux: MSS, SACK-perm, timestamps, wscale 7)
    head(C, sport, S, port, TH_SYN, ic, 0); p.win = 64240; p.optMss = 1460; p.optSackPerm = true; p.optWscale = 7; p.optTs = true; p.tsval = 100 + i;
    expect(send(t, true), NF_STOLEN);
    const cookie = sp.toClient.seq, pts = sp.toClient.tsval;
    head(C, sport, S, port, TH_ACK, ic + 1, cookie + 1); p.optTs = true; p.tsval = 101 + i; p.tsecr = pts;
    expect(send(t + 1000, true), NF_STOLEN);
    // server SYN-ACK
    head(S, port, C, sport, TH_SYN | TH_ACK, is, ic + 1); p.win = 65160; p.optMss = 1460; p.optSackPerm = true; p.optWscale = 7; p.optTs = true; p.tsval = 9000 + i; p.tsecr = 101 + i;
    expect(send(t + 2000, false), NF_STOLEN);
    // request, its ACK, response, its ACK (client acks in the cookie space)
    head(C, sport, S, port, TH_ACK | TH_PSH, ic + 1, cookie + 1, REQUEST); expect(send(t + 3000, true), NF_ACCEPT);
    head(S, port, C, sport, TH_ACK, is + 1, ic + 1 + REQUEST); expect(send(t + 4000, false), NF_ACCEPT);
    head(S, port, C, sport, TH_ACK | TH_PSH, is + 1, ic + 1 + REQUEST, RESPONSE); expect(send(t + 5000, false), NF_ACCEPT);
    head(C, sport, S, port, TH_ACK, ic + 1 + REQUEST, cookie + 1 + RESPONSE); expect(send(t + 6000, true), NF_ACCEPT);
    // the server closes first (serverClose 50 ms), the client 300 ms after its read
    const sf = is + 1 + RESPONSE, cf = ic + 1 + REQUEST;
    head(S, port, C, sport, TH_FIN | TH_ACK, sf, cf); expect(send(t + 55_000, false), NF_ACCEPT);
    head(C, sport, S, port, TH_ACK, cf, cookie + 1 + RESPONSE + 1); expect(send(t + 56_000, true), NF_ACCEPT);
    head(C, sport, S, port, TH_FIN | TH_ACK, cf, cookie + 1 + RESPONSE + 1); expect(send(t + 306_000, true), NF_ACCEPT);
    head(S, port, C, sport, TH_ACK, sf + 1, cf + 1); expect(send(t + 307_000, false), NF_ACCEPT);
    if (ok) connected++;
  });
  ct.setNow(3 * 1e6);
  const synproxy = Object.fromEntries(SYNPROXY_STAT_COLUMNS.map((c) => [c, sp.stats[c]]));
  return { synproxy, states: summariseStates(ct), stats: { invalid: ct.stats.invalid, drop: ct.stats.drop }, connected };
}

const STAT_KEYS = ['syn_received', 'cookie_invalid', 'cookie_valid', 'cookie_retrans', 'conn_reopened'] as const;

export const synproxyFlood: KernelCase = {
  name: 'synproxy-flood',
  title: `SYNPROXY (selftest rule shape, tcp_loose 0): ${FLOOD} spoofed SYNs, then ${PORTS.length} real connections`,
  reference: 'docs/synproxy.md §1–§5, §8',
  sysctl: { nf_conntrack_tcp_loose: 0 },
  ruleset: RULESET,
  readSynproxy: true,
  events: false, sinks: false, seeds: 1, expectSeconds: 6,
  plan,
  check(k: KernelObs, _m: ModelObs): Check[] {
    const m = modelSynproxyPlan(k);
    const out: Check[] = [];
    out.push(sameCounts('/proc/net/stat/synproxy', k.synproxy ?? {}, m.synproxy, STAT_KEYS));
    out.push(sameCounts('conntrack -L states', k.states, m.states));
    const spoofed = k.entries.filter((e) => /\bsrc=10\.200\.1\.1\d\d\b/.test(e.orig)).length;
    out.push(sameCounts('entries of spoofed sources', { entries: spoofed }, { entries: 0 }));
    out.push(sameCounts('conntrack -S invalid, drop', { invalid: k.stats.invalid ?? 0, drop: k.stats.drop ?? 0 }, m.stats));
    out.push(sameCounts('real connections completed', { connected: PORTS.length }, { connected: m.connected }));
    return out;
  },
  summary(k: KernelObs): { kernel: string; model: string } {
    const m = modelSynproxyPlan(k);
    const n = (s: Record<string, number>): number => Object.values(s).reduce((a, b) => a + b, 0);
    const f = (s: Record<string, number> | undefined): string => `syn_received=${s?.syn_received ?? '?'} cookie_valid=${s?.cookie_valid ?? '?'}`;
    return { kernel: `${n(k.states)} entries, ${f(k.synproxy)}`, model: `${n(m.states)} entries, ${f(m.synproxy)}` };
  },
};
