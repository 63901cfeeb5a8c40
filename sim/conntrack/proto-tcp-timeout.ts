/**
 * TCP timeouts (§4.8 of docs/model.md): the sysctl table, the jiffies array and the
 * timeout ladder of §4.6 step 10. Re-exported by `proto-tcp.ts`; import from there.
 */
import {
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_NONE, TCP_CONNTRACK_RETRANS, TCP_CONNTRACK_SYN_SENT,
  TCP_CONNTRACK_TIMEOUT_MAX, TCP_CONNTRACK_UNACK,
} from './proto-tcp-const.js';

/**
 * The timeout ladder of §4.6 step 10 (first match wins): RETRANS after `maxRetrans` identical
 * segments (if shorter than the state's timeout); CLOSE for an RST; UNACK while either side has
 * unacknowledged data (if shorter); RETRANS after a zero window (if shorter); else the state's
 * timeout. Values in jiffies.
 * @see nf_conntrack_tcp_packet
 */
export function selectTcpTimeout(
  timeouts: Int32Array, newState: number, retrans: number, maxRetrans: number,
  isRst: boolean, dataUnacknowledged: boolean, lastWin: number,
): number {
  const t = timeouts[newState];
  if (retrans >= maxRetrans && t > timeouts[TCP_CONNTRACK_RETRANS]) return timeouts[TCP_CONNTRACK_RETRANS];
  if (isRst) return timeouts[TCP_CONNTRACK_CLOSE];
  if (dataUnacknowledged && t > timeouts[TCP_CONNTRACK_UNACK]) return timeouts[TCP_CONNTRACK_UNACK];
  if (lastWin === 0 && t > timeouts[TCP_CONNTRACK_RETRANS]) return timeouts[TCP_CONNTRACK_RETRANS];
  return t;
}

/** One row of TCP_TIMEOUT_SYSCTLS: the sysctl (or null) and the kernel default in seconds. */
export interface TcpTimeoutSysctl {
  readonly name: string | null;
  readonly defaultSeconds: number;
}

/**
 * Timeout index → `net.netfilter.` sysctl name and kernel default (§4.8). Index 0 (NONE)
 * mirrors SYN_SENT; SYN_SENT2 has no sysctl (120 s, settable only by a timeout policy);
 * indices 10 and 11 (MAX, IGNORE) are not timeouts.
 * @see tcp_timeouts, nf_conntrack_tcp_init_net
 */
export const TCP_TIMEOUT_SYSCTLS: readonly TcpTimeoutSysctl[] = Object.freeze([
  { name: null, defaultSeconds: 120 },
  { name: 'nf_conntrack_tcp_timeout_syn_sent', defaultSeconds: 120 },
  { name: 'nf_conntrack_tcp_timeout_syn_recv', defaultSeconds: 60 },
  { name: 'nf_conntrack_tcp_timeout_established', defaultSeconds: 432000 },
  { name: 'nf_conntrack_tcp_timeout_fin_wait', defaultSeconds: 120 },
  { name: 'nf_conntrack_tcp_timeout_close_wait', defaultSeconds: 60 },
  { name: 'nf_conntrack_tcp_timeout_last_ack', defaultSeconds: 30 },
  { name: 'nf_conntrack_tcp_timeout_time_wait', defaultSeconds: 120 },
  { name: 'nf_conntrack_tcp_timeout_close', defaultSeconds: 10 },
  { name: null, defaultSeconds: 120 },
  { name: null, defaultSeconds: 0 },
  { name: null, defaultSeconds: 0 },
  { name: 'nf_conntrack_tcp_timeout_max_retrans', defaultSeconds: 300 },
  { name: 'nf_conntrack_tcp_timeout_unacknowledged', defaultSeconds: 300 },
].map((e) => Object.freeze(e)));

/**
 * Build the 14-entry timeout array in jiffies from sysctl values in seconds (keys with or
 * without the `net.netfilter.` prefix; missing keys take the default; other keys are ignored).
 * Index 0 takes the SYN_SENT value. Throws RangeError for a value that is not an integer in
 * 0..INT_MAX/hz (what `proc_dointvec_jiffies` accepts).
 */
export function tcpTimeoutsJiffies(sysctlValuesInSeconds: Record<string, number>, hz: number): Int32Array {
  if (!Number.isInteger(hz) || hz <= 0) throw new RangeError(`tcpTimeoutsJiffies: bad hz ${hz}`);
  const out = new Int32Array(TCP_CONNTRACK_TIMEOUT_MAX);
  const maxSec = Math.floor(2147483647 / hz);
  for (let i = 1; i < TCP_CONNTRACK_TIMEOUT_MAX; i++) {
    const row = TCP_TIMEOUT_SYSCTLS[i];
    let sec = row.defaultSeconds;
    if (row.name !== null) {
      const v = sysctlValuesInSeconds[row.name] ?? sysctlValuesInSeconds['net.netfilter.' + row.name];
      if (v !== undefined) {
        if (!Number.isInteger(v) || v < 0 || v > maxSec) {
          throw new RangeError(`${row.name}: expected an integer 0..${maxSec} seconds, got ${v}`);
        }
        sec = v;
      }
    }
    out[i] = sec * hz;
  }
  out[TCP_CONNTRACK_NONE] = out[TCP_CONNTRACK_SYN_SENT];
  return out;
}

