import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { writePcap } from '../capture/pcap-write.js';
import { CaptureBuilder, T0 } from '../replay/testkit.js';
import { InputError } from '../io/errors.js';
import { parseMemory, parseSysctlFlag, registerReplay, runReplay } from './replay-command.js';

const dir = mkdtempSync(join(tmpdir(), 'ctsim-replay-'));
const file = (name: string, bytes: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const conn = new CaptureBuilder().tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 80, { close: true }).pcap();
const connFile = file('conn.pcap', conn);
const SMALL = ['nf_conntrack_max=1024', 'net.netfilter.nf_conntrack_buckets=1024'];

const inputError = (t: import('ava').ExecutionContext, fn: () => unknown, re: RegExp): void => {
  const e = t.throws(fn, { instanceOf: InputError });
  t.regex(e!.message, re);
};

test('--sysctl: net.netfilter. prefix, did-you-mean for unknown names, kernel ranges', (t) => {
  t.deepEqual(parseSysctlFlag('net.netfilter.nf_conntrack_max=65536'), ['nf_conntrack_max', 65536]);
  t.deepEqual(parseSysctlFlag('net.nf_conntrack_max=7'), ['nf_conntrack_max', 7]);
  inputError(t, () => parseSysctlFlag('nf_conntrack_maxx=5'), /unknown sysctl "nf_conntrack_maxx" \(did you mean nf_conntrack_max\?\)/);
  inputError(t, () => parseSysctlFlag('nf_conntrack_tcp_loose=2'), /--sysctl nf_conntrack_tcp_loose=2: .*expected 0\.\.1/);
  inputError(t, () => parseSysctlFlag('nf_conntrack_udp_timeout=abc'), /expected an integer/);
  inputError(t, () => parseSysctlFlag('nf_conntrack_udp_timeout=-1'), /expected 0\.\./);
  inputError(t, () => parseSysctlFlag('nf_conntrack_max'), /expected name=value/);
  t.is(parseMemory('4G'), 4 * 2 ** 30);
  t.is(parseMemory('512MiB'), 512 * 2 ** 20);
  inputError(t, () => parseMemory('lots'), /--memory/);
});

test('other flags are checked: --hz, --seed, --idle, --sample, --kernel, nf_conntrack_max=0 from v6.19', (t) => {
  inputError(t, () => runReplay(connFile, { hz: '123' }), /--hz 123: expected one of 100, 250, 300, 1000/);
  inputError(t, () => runReplay(connFile, { seed: '-1' }), /--seed/);
  inputError(t, () => runReplay(connFile, { idle: 'x' }), /--idle/);
  inputError(t, () => runReplay(connFile, { sample: '0' }), /--sample/);
  inputError(t, () => runReplay(connFile, { kernel: 'six' }), /--kernel six/);
  inputError(t, () => runReplay(connFile, { kernel: '6.19', sysctl: ['nf_conntrack_max=0'] }), /v6\.19/);
  inputError(t, () => runReplay(connFile, { sysctl: ['nf_conntrack_max=2000000000'] }), /at most 16777216/);
  inputError(t, () => runReplay(connFile, { sysctl: SMALL, idle: '999999', sample: '0.001' }), /--sample 0\.001: the timeline would exceed/);
});

test('bad captures: missing file, truncated record (with the packet index), unsupported link type', (t) => {
  inputError(t, () => runReplay(join(dir, 'nope.pcap'), {}), /capture file not found/);
  const cut = file('cut.pcap', conn.subarray(0, conn.length - 5));
  inputError(t, () => runReplay(cut, { sysctl: SMALL }), /cut\.pcap: packet 6: truncated record/);
  const wifi = file('wifi.pcap', writePcap([{ tsUs: T0, data: new Uint8Array(40) }], 105));
  inputError(t, () => runReplay(wifi, {}), /unsupported link type LINKTYPE_IEEE802_11 \(105\)/);
  const junk = file('junk.pcap', new TextEncoder().encode('hello, not a capture'));
  inputError(t, () => runReplay(junk, {}), /not a capture file/);
});

test('--json: stable keys, 2-space indent, identical for the same input and seed', (t) => {
  const a = runReplay(connFile, { sysctl: SMALL, json: true, seed: '5' }).stdout;
  const b = runReplay(connFile, { sysctl: SMALL, json: true, seed: '5' }).stdout;
  t.is(a, b);
  const j = JSON.parse(a) as Record<string, unknown>;
  t.deepEqual(Object.keys(j).slice(0, 3), ['file', 'frames', 'ipPackets']);
  for (const k of ['stats', 'count', 'states', 'timeline', 'model', 'max', 'buckets', 'hz']) t.true(k in j, k);
  t.deepEqual(j.states, { 'tcp TIME_WAIT ASSURED': 1 });
  t.true(a.startsWith('{\n  "file": '));
  t.is((j.stats as Record<string, number>).early_drop, 0);
});

test('table output and the --events file', (t) => {
  const ev = join(dir, 'sub', 'events.log');
  const out = runReplay(connFile, { sysctl: SMALL, events: ev, idle: '130' }).stdout;
  t.regex(out, /table {5}count 0 \/ max 1024, 1024 buckets, HZ 250/);
  t.regex(out, /events {4}8 lines/);
  const log = readFileSync(ev, 'utf8').trimEnd().split('\n');
  t.is(log.length, 8);
  t.regex(log[0]!, /^\[1700000000\.000000\]\t {4}\[NEW\] tcp {6}6 120 SYN_SENT /);
  t.regex(log[7]!, /\[DESTROY\]/);
  const live = runReplay(connFile, { sysctl: SMALL }).stdout;
  t.regex(live, /tcp TIME_WAIT ASSURED +1/);
});

test('registerReplay: the command, its example and exit codes in --help; global --seed/--json reach it', async (t) => {
  const program = new Command().exitOverride();
  program.option('--seed <n>').option('--json');
  registerReplay(program);
  const cmd = program.commands.find((c) => c.name() === 'replay')!;
  let help = '';
  cmd.configureOutput({ writeOut: (s) => { help += s; } });
  cmd.outputHelp();
  t.true(help.includes('ctsim replay scenarios/captures/syn-flood.pcap --sysctl nf_conntrack_max=99 --idle 75 --json'));
  t.true(help.includes('--sysctl nf_conntrack_checksum=0'));
  t.regex(help, /Exit codes: 0 ok; 2 bad input/);
  for (const f of ['--sysctl', '--hz', '--seed', '--idle', '--sample', '--events', '--json']) t.true(help.includes(f), f);

  let written = '';
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => { written += s; return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['replay', connFile, '--sysctl', SMALL[0]!, '--sysctl', SMALL[1]!, '--seed', '3', '--json'], { from: 'user' });
  } finally {
    process.stdout.write = orig;
  }
  t.is(written, runReplay(connFile, { sysctl: SMALL, seed: '3', json: true }).stdout);
});
