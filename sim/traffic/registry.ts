import { bool, duration, num, obj, str } from '../scenario/schema-dsl.js';
import type { Distribution } from '../core/distributions.js';
import type { GeneratorKind } from './generator.js';
import type { Prefix, SourceSpec } from './addresses.js';
import { captureFile, CaptureReplay, type CaptureFile } from './capture.js';
import { Icmp } from './icmp.js';
import { IdleNatFlows } from './idle-nat-flows.js';
import { PortScan } from './port-scan.js';
import type { RateSpec } from './rate.js';
import { choice, delay, distribution, fractions, oneFamily, ports, prefix, rate, sources, type DelaySpec } from './schema-types.js';
import { SynFlood } from './syn-flood.js';
import { MISBEHAVIOURS, TcpClients, type Misbehaviour } from './tcp-clients.js';
import { UdpRequestResponse } from './udp-request-response.js';
import { UdpStream } from './udp-stream.js';

export type { GeneratorKind } from './generator.js';

const arrival = () => str({ enum: ['constant', 'poisson'], default: 'poisson', doc: 'spacing of a numeric rate (and of ramp/on-off/piecewise shapes): exact or Poisson' });
const start = () => duration({ default: '0s', doc: 'when the generator starts' });
const stop = () => duration({ default: '1000d', doc: 'when it stops starting new flows (default: run end)' });
const rtt = (d: string, who: string) => delay({ default: d, doc: `round trip firewall ↔ ${who}: a duration, or a distribution in ms drawn per flow` });
const port = (d: number) => num({ int: true, min: 1, max: 65535, default: d, doc: 'destination port' });
const rateField = (what: string) => rate({ doc: `${what} per second, or a shape { shape: constant|poisson|ramp|on-off|piecewise, … }` });
const retries = (d: number) => num({ int: true, min: 0, max: 20, default: d, doc: 'SYN retransmissions before giving up (tcp_syn_retries)' });
const rto = () => duration({ exclusiveMin: 0, default: '1s', doc: 'first SYN retransmission timeout (doubles each time)' });
const bytesDist = (d: number, what: string) => distribution({ default: d, doc: `${what} size in bytes (a number or a distribution)` });

type Spec = Record<string, unknown>;
const g = <T>(s: Spec, k: string) => s[k] as T;
/** The fields every flow generator shares, as constructor parameters. */
const flowCommon = (s: Spec) => ({
  rate: g<RateSpec>(s, 'rate'), arrival: g<'constant' | 'poisson'>(s, 'arrival'), startUs: g<number>(s, 'start'), stopUs: g<number>(s, 'stop'),
  clientRtt: g<DelaySpec>(s, 'client_rtt'), serverRtt: g<DelaySpec>(s, 'server_rtt'),
});

const MISBEHAVIOUR_DOCS: Record<Misbehaviour, string> = {
  ignore_fin: 'the peer ACKs the FIN but never closes (entry left in CLOSE_WAIT)',
  fin_resend: 'as ignore_fin, and the closer re-sends its FIN every fin_resend (keeps the entry alive)',
  half_open: 'the client never ACKs the SYN-ACK (entry left in SYN_RECV)',
  vanish: 'the client disappears after the exchange, no FIN or RST (ESTABLISHED until timeout)',
  out_of_window: 'the client sends one segment far outside the window (INVALID)',
};

export const GENERATORS: Record<string, GeneratorKind> = {
  'syn-flood': {
    summary: 'spoofed SYNs (prefix, list or botnet sources) at a rate or rate shape; every SYN needs a new entry',
    defaultClass: 'attack',
    schema: obj({
      rate: rateField('SYNs'),
      arrival: arrival(),
      sources: sources({ default: '198.18.0.0/15', botnet: true, doc: 'spoofed sources (IPv4 or IPv6): a prefix, a list of addresses/prefixes, a number of distinct hosts, { count: N, within: prefix }, or { botnet: N, within: prefix }' }),
      target: prefix({ default: '192.0.2.10', doc: 'attacked address or prefix' }),
      port: ports({ default: 80, doc: 'attacked port(s): a port, a list, or a range "1-1024" (drawn uniformly per SYN)' }),
      start: start(),
      stop: stop(),
      server: str({ enum: ['silent', 'syn-ack', 'rst'], default: 'silent', doc: 'what the attacked server answers' }),
      server_rtt: rtt('1ms', 'server'),
      syn_retries: num({ int: true, min: 0, max: 20, default: 0, doc: 'times each (fake) source re-sends its SYN (same tuple), at rto, 2·rto, …' }),
      rto: rto(),
    }, { doc: 'spoofed SYN flood' }),
    check: oneFamily(['sources', 'target']),
    create: (s, init) => new SynFlood({
      ...init,
      params: {
        rate: g(s, 'rate'), arrival: g(s, 'arrival'), sources: g<SourceSpec>(s, 'sources'), target: g<Prefix>(s, 'target'),
        ports: g(s, 'port'), startUs: g(s, 'start'), stopUs: g(s, 'stop'), server: g(s, 'server'), serverRtt: g(s, 'server_rtt'),
        synRetries: g(s, 'syn_retries'), rtoUs: g(s, 'rto'),
      },
    }),
  },
  'tcp-clients': {
    summary: 'TCP connections: handshake over path RTTs, request/response rounds, hold, close by FIN or RST; SYN retries on loss; optional misbehaving peers',
    defaultClass: 'legit',
    schema: obj({
      rate: rateField('new connections'),
      arrival: arrival(),
      clients: sources({ plainPrefix: true, default: '10.1.0.0/16', doc: 'client addresses: a prefix (IPv4 or IPv6), a list, a number of distinct hosts, or { count: N, within: prefix }' }),
      server: prefix({ default: '192.0.2.10', doc: 'server address or prefix' }),
      port: port(443),
      start: start(),
      stop: stop(),
      client_rtt: rtt('20ms', 'client'),
      server_rtt: rtt('1ms', 'server'),
      hold: distribution({ default: { dist: 'exponential', mean: 5 }, doc: 'seconds from the last response to the close' }),
      requests: distribution({ default: 1, doc: 'request/response rounds per connection (rounded, at least 1)' }),
      think: distribution({ default: { dist: 'exponential', mean: 1 }, doc: 'seconds between a response and the next request' }),
      request_bytes: bytesDist(500, 'request'),
      response_bytes: bytesDist(20000, 'response'),
      close: choice(['client-fin', 'server-fin', 'rst'], { default: 'client-fin', doc: 'how connections end: one of client-fin, server-fin, rst, or weights { client-fin: 0.8, rst: 0.2 }' }),
      server_mode: str({ enum: ['accept', 'refuse', 'silent'], default: 'accept', doc: 'accept, refuse with RST, or stay silent' }),
      syn_retries: retries(6),
      rto: rto(),
      misbehave: fractions(MISBEHAVIOURS, MISBEHAVIOUR_DOCS, { doc: 'fraction of connections per misbehaviour (the rest behave)' }),
      fin_resend: duration({ exclusiveMin: 0, default: '20s', doc: 'interval at which a fin_resend closer re-sends its FIN' }),
    }, { doc: 'TCP clients' }),
    check: oneFamily(['clients', 'server']),
    create: (s, init) => new TcpClients({
      ...init,
      params: {
        ...flowCommon(s), clients: g<SourceSpec>(s, 'clients'), server: g<Prefix>(s, 'server'), port: g(s, 'port'),
        hold: g<Distribution>(s, 'hold'), requests: g(s, 'requests'), think: g(s, 'think'),
        requestBytes: g(s, 'request_bytes'), responseBytes: g(s, 'response_bytes'), close: g(s, 'close'),
        serverMode: g(s, 'server_mode'), synRetries: g(s, 'syn_retries'), rtoUs: g(s, 'rto'),
        misbehave: g(s, 'misbehave'), finResendUs: g(s, 'fin_resend'),
      },
    }),
  },
  'udp-request-response': {
    summary: 'UDP: DNS-like queries from fresh ports answered after a delay (retries on timeout), one-way flows, or long answered streams that become ASSURED',
    defaultClass: 'legit',
    schema: obj({
      mode: str({ enum: ['query', 'one-way', 'stream'], default: 'query', doc: 'query: request/response; one-way: nobody answers; stream: every packet answered for flow_duration' }),
      rate: rateField('new queries (flows)'),
      arrival: arrival(),
      clients: sources({ plainPrefix: true, default: '10.2.0.0/16', doc: 'client addresses: a prefix (IPv4 or IPv6), a list, a number of distinct hosts, or { count: N, within: prefix }' }),
      server: prefix({ default: '192.0.2.53' }),
      port: port(53),
      start: start(),
      stop: stop(),
      client_rtt: rtt('10ms', 'client'),
      server_rtt: rtt('1ms', 'server'),
      answer_delay: distribution({ default: { dist: 'exponential', mean: 5 }, doc: 'query: server processing time, ms' }),
      loss: num({ min: 0, max: 1, default: 0, doc: 'query: probability a query is never answered' }),
      timeout: duration({ exclusiveMin: 0, default: '5s', doc: 'query: client timeout before re-sending' }),
      retries: num({ int: true, min: 0, max: 20, default: 2, doc: 'query: re-sends before giving up' }),
      aaaa: str({
        enum: ['none', 'parallel', 'reopen'], default: 'none',
        doc: 'query: also ask AAAA. parallel: A and AAAA back to back from one socket (glibc, musl: the same 5-tuple, which can race at confirm, docs/nat.md §3.3); reopen: AAAA from a second socket (resolv.conf single-request-reopen); a lookup succeeds when both answers arrive',
      }),
      flow_duration: distribution({ default: { dist: 'exponential', mean: 60 }, doc: 'one-way/stream: seconds each flow lasts' }),
      interval: distribution({ default: 1000, doc: 'one-way/stream: ms between the client\'s packets' }),
    }, { doc: 'UDP request/response, one-way and streams' }),
    check: oneFamily(['clients', 'server']),
    create: (s, init) => {
      const base = { ...flowCommon(s), clients: g<SourceSpec>(s, 'clients'), server: g<Prefix>(s, 'server'), port: g<number>(s, 'port') };
      if (s.mode !== 'query') {
        return new UdpStream({ ...init, params: { ...base, mode: g(s, 'mode'), flowDuration: g(s, 'flow_duration'), interval: g(s, 'interval') } });
      }
      return new UdpRequestResponse({
        ...init,
        params: {
          ...base, answerDelay: g<Distribution>(s, 'answer_delay'), loss: g(s, 'loss'), timeoutUs: g(s, 'timeout'), retries: g(s, 'retries'),
          ...(s.aaaa !== undefined && s.aaaa !== 'none' ? { aaaa: g<'parallel' | 'reopen'>(s, 'aaaa') } : {}),
        },
      });
    },
  },
  'idle-nat-flows': {
    summary: 'long-lived TCP/UDP flows (DB pools, SSH, MQTT, VPN) idle for drawn gaps; a resume that finds no entry is a broken NAT flow',
    defaultClass: 'legit',
    schema: obj({
      protocol: str({ enum: ['tcp', 'udp'], default: 'tcp' }),
      flows: num({ int: true, min: 1, max: 1_000_000, doc: 'long-lived flows kept open' }),
      ramp: duration({ default: '10s', doc: 'the flows are opened evenly over this time from start' }),
      start: start(),
      clients: sources({ plainPrefix: true, default: '10.3.0.0/16', doc: 'client addresses: a prefix (IPv4 or IPv6), a list, a number of distinct hosts, or { count: N, within: prefix }' }),
      server: prefix({ default: '192.0.2.20' }),
      port: port(5432),
      client_rtt: rtt('5ms', 'client'),
      server_rtt: rtt('1ms', 'server'),
      idle: distribution({ default: { dist: 'exponential', mean: 300 }, doc: 'seconds idle between activities' }),
      rounds: num({ int: true, min: 1, max: 1000, default: 3, doc: 'request/response rounds per activity' }),
      think: duration({ default: '2s', doc: 'pause between rounds (the default 3 rounds 2 s apart make a UDP entry ASSURED, §5.1)' }),
      request_bytes: bytesDist(200, 'request'),
      response_bytes: bytesDist(1000, 'response'),
      server_resume: num({ min: 0, max: 1, default: 0, doc: 'probability an activity starts with a server push' }),
      keepalive: duration({ default: '0s', doc: 'keepalive interval while idle (0: none)' }),
      reconnect: duration({ default: '1s', doc: 'pause before a broken flow connects again' }),
      syn_retries: retries(6),
      rto: rto(),
    }, { doc: 'idle long-lived flows behind NAT' }),
    check: oneFamily(['clients', 'server']),
    create: (s, init) => new IdleNatFlows({
      ...init,
      params: {
        protocol: g(s, 'protocol'), flows: g(s, 'flows'), rampUs: g(s, 'ramp'), startUs: g(s, 'start'),
        clients: g<SourceSpec>(s, 'clients'), server: g<Prefix>(s, 'server'), port: g(s, 'port'),
        clientRtt: g(s, 'client_rtt'), serverRtt: g(s, 'server_rtt'), idle: g(s, 'idle'), rounds: g(s, 'rounds'),
        thinkUs: g(s, 'think'), requestBytes: g(s, 'request_bytes'), responseBytes: g(s, 'response_bytes'),
        serverResume: g(s, 'server_resume'), keepaliveUs: g(s, 'keepalive'), reconnectUs: g(s, 'reconnect'),
        synRetries: g(s, 'syn_retries'), rtoUs: g(s, 'rto'),
      },
    }),
  },
  icmp: {
    summary: 'ICMP echo request/reply, and ICMP errors (port unreachable, time exceeded) RELATED to the probe that caused them',
    defaultClass: 'legit',
    schema: obj({
      mode: str({ enum: ['echo', 'unreachable', 'time-exceeded'], default: 'echo' }),
      rate: rateField('new ping flows or probes'),
      arrival: arrival(),
      clients: sources({ plainPrefix: true, default: '10.4.0.0/16', doc: 'client addresses: a prefix (IPv4 or IPv6: ICMPv6), a list, a number of distinct hosts, or { count: N, within: prefix }' }),
      server: prefix({ default: '192.0.2.30' }),
      router: prefix({ default: '203.0.113.1', doc: 'time-exceeded: the router that answers (give an IPv6 one with IPv6 clients)' }),
      port: port(33434),
      start: start(),
      stop: stop(),
      client_rtt: rtt('10ms', 'client'),
      server_rtt: rtt('5ms', 'server'),
      count: num({ int: true, min: 1, max: 10000, default: 4, doc: 'echo: requests per flow' }),
      interval: duration({ exclusiveMin: 0, default: '1s', doc: 'echo: time between requests' }),
      loss: num({ min: 0, max: 1, default: 0, doc: 'echo: probability a request is not answered' }),
    }, { doc: 'ICMP' }),
    check: (r, path, issues) => oneFamily(r['mode'] === 'time-exceeded' ? ['clients', 'server', 'router'] : ['clients', 'server'])(r, path, issues),
    create: (s, init) => new Icmp({
      ...init,
      params: {
        ...flowCommon(s), mode: g(s, 'mode'), clients: g<SourceSpec>(s, 'clients'), server: g<Prefix>(s, 'server'),
        router: g<Prefix>(s, 'router'), port: g(s, 'port'), count: g(s, 'count'), intervalUs: g(s, 'interval'), loss: g(s, 'loss'),
      },
    }),
  },
  'port-scan': {
    summary: 'a SYN scan from one source over many ports and addresses; open ports SYN-ACK, closed ones RST or stay silent',
    defaultClass: 'attack',
    schema: obj({
      rate: rateField('probes'),
      arrival: str({ enum: ['constant', 'poisson'], default: 'constant', doc: 'spacing of the probes' }),
      source: sources({ plainPrefix: true, default: '203.0.113.66', doc: 'the scanning host (IPv4 or IPv6); a list, a number of hosts or { count: N, within: prefix } spreads the probes over several scanners' }),
      target: prefix({ default: '192.0.2.10', doc: 'scanned address or prefix' }),
      ports: ports({ default: '1-65535', doc: 'scanned ports' }),
      order: str({ enum: ['sequential', 'random'], default: 'random' }),
      open: ports({ default: 80, doc: 'ports that answer SYN-ACK' }),
      closed: str({ enum: ['rst', 'silent'], default: 'rst', doc: 'what closed ports answer' }),
      repeat: bool({ default: false, doc: 'scan again after the last pair' }),
      start: start(),
      stop: stop(),
      client_rtt: rtt('20ms', 'scanner'),
      server_rtt: rtt('1ms', 'server'),
    }, { doc: 'port scan' }),
    check: oneFamily(['source', 'target']),
    create: (s, init) => new PortScan({
      ...init,
      params: {
        ...flowCommon(s), source: g<SourceSpec>(s, 'source'), target: g<Prefix>(s, 'target'), ports: g(s, 'ports'),
        order: g(s, 'order'), open: g(s, 'open'), closed: g(s, 'closed'), repeat: g(s, 'repeat'),
      },
    }),
  },
  capture: {
    summary: 'a pcap/pcapng file replayed among the synthetic traffic (optionally sped up or looped)',
    defaultClass: 'legit',
    pathFields: ['file'],
    schema: obj({
      file: captureFile({ doc: 'pcap or pcapng path, relative to the scenario file; read when the scenario is validated' }),
      start: start(),
      speed: num({ exclusiveMin: 0, max: 1e6, default: 1, doc: 'time scale: 2 plays twice as fast' }),
      loop: bool({ default: false, doc: 'play again after the end until the run ends' }),
      loop_gap: duration({ default: '1s', doc: 'pause between loops' }),
    }, { doc: 'capture replay' }),
    create: (s, init) => new CaptureReplay({
      ...init,
      params: { file: g<CaptureFile>(s, 'file'), startUs: g(s, 'start'), speed: g(s, 'speed'), loop: g(s, 'loop'), loopGapUs: g(s, 'loop_gap') },
    }),
  },
};
