/**
 * Bad rules and routes on the command line (docs/rules.md): `ctsim validate`/`run` with a
 * scenario's `ruleset:`/`routes:`, and `ctsim replay --ruleset/--route`, exit 2 naming the file,
 * line and column, and leave nothing in the output folder.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { CaptureBuilder, T0 } from '../replay/testkit.js';

const dir = mkdtempSync(join(tmpdir(), 'ctsim-rules-cli-'));
const put = (name: string, body: string | Uint8Array): string => { const p = join(dir, name); writeFileSync(p, body); return p; };
const capFile = put('conn.pcap', new CaptureBuilder().tcpConnection(T0, '10.0.0.1', 40000, '192.0.2.80', 80, { close: true }).pcap());
const RULES = 'table ip nat {\n  chain post {\n    type nat hook postrouting priority srcnat;\n    oifname "wan0" masquerade\n  }\n}\n';
const SCENARIO = (extra: string): string => `duration: 2s\nkernel: { memory: 512MiB }\ntraffic:\n  - kind: tcp-clients\n    rate: 5\n${extra}`;
const ROUTES = 'routes:\n  - { prefix: 10.0.0.0/8, iface: lan0 }\n  - { prefix: 0.0.0.0/0, iface: wan0, addr: 203.0.113.1 }\n';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

test.serial('validate: an inline ruleset error exits 2 with scenario file:line:col', async (t) => {
  const f = put('inline.yaml', SCENARIO(`${ROUTES}ruleset: |\n  table ip nat {\n    chain post {\n      type nat hook postrouting priority srcnat;\n      oifname "wan0" snat to 203.0.113.300\n    }\n  }\n`));
  const r = await capture(['validate', f]);
  t.is(r.code, 2);
  // line 13: '      oifname "wan0" snat to 203.0.113.300' → the address at column 30
  t.is(r.err.trim(), `ctsim: ${f}:13:30: ruleset: "203.0.113.300" is not an IPv4 address (four numbers 0..255 separated by dots)`);
});

test.serial('validate: a ruleset file beside the scenario, with its own file:line:col', async (t) => {
  put('bad.nft', RULES.replace('masquerade', 'masquerade fully-random persistent'));
  const f = put('file.yaml', SCENARIO(`${ROUTES}ruleset: bad.nft\n`));
  const r = await capture(['validate', f]);
  t.is(r.code, 2);
  t.is(r.err.trim(), `ctsim: ${join(dir, 'bad.nft')}:4:44: expected "," between NAT flags (e.g. random,persistent), got "persistent" (the ruleset of ${f})`);
  put('good.nft', RULES);
  t.is((await capture(['validate', put('good.yaml', SCENARIO(`${ROUTES}ruleset: good.nft\n`))])).code, 0);
});

test.serial('run: ambiguous routes and masquerade without an address exit 2 and write nothing', async (t) => {
  const out = join(dir, 'results');
  const amb = put('amb.yaml', SCENARIO('routes:\n  - { prefix: 10.0.0.0/8, iface: lan0 }\n  - { prefix: 10.0.0.0/8, iface: wan0 }\n'));
  const r1 = await capture(['run', amb, '--out', out, '--quiet']);
  t.is(r1.code, 2);
  t.is(r1.err.trim(), `ctsim: ${amb}:8: routes[1].prefix: ambiguous route: 10.0.0.0/8 is already routed to lan0 by routes[0]; a prefix needs exactly one interface`);
  const noAddr = put('noaddr.yaml', SCENARIO(`routes:\n  - { prefix: 0.0.0.0/0, iface: wan0 }\nruleset: |\n${RULES.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n')}`));
  const r2 = await capture(['run', noAddr, '--out', out, '--quiet']);
  t.is(r2.code, 2);
  t.is(r2.err.trim(), `ctsim: ${noAddr}:12:22: ruleset: masquerade needs an address on the outgoing interface, and wan0 has none; declare it with the route (e.g. --route 0.0.0.0/0=wan0@203.0.113.1, or addr: in routes:)`);
  t.false(existsSync(out) && readdirSync(out).length > 0, 'nothing written in the output folder');
});

test.serial('replay: --ruleset errors name the file, line and column; --route problems name the flag', async (t) => {
  const bad = put('replay-bad.nft', 'table ip nat {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n    tcp dport 80 dnat to 10.0.0.5:90-80\n  }\n}\n');
  const r1 = await capture(['replay', capFile, '--ruleset', bad, '--route', '10.0.0.0/8=lan0']);
  t.is(r1.code, 2);
  t.is(r1.err.trim(), `ctsim: ${bad}:4:35: port range 90-80 has min 90 > max 80`);
  const r2 = await capture(['replay', capFile, '--route', '10.0.0.0/8=lan0', '--route', '10.0.0.0/8=wan0@203.0.113.1']);
  t.is(r2.code, 2);
  t.is(r2.err.trim(), 'ctsim: --route 10.0.0.0/8=wan0@203.0.113.1: ambiguous route: 10.0.0.0/8 is already routed to lan0 by --route 10.0.0.0/8=lan0; a prefix needs exactly one interface');
  const r3 = await capture(['replay', capFile, '--route', '10.0.0.0/8']);
  t.is(r3.code, 2);
  t.is(r3.err.trim(), 'ctsim: --route 10.0.0.0/8: expected PREFIX=IFNAME[@ADDR] (e.g. 10.98.0.0/24=f1@10.98.0.1), got "10.0.0.0/8"');
  const r4 = await capture(['replay', capFile, '--ruleset', put('m.nft', RULES), '--route', '0.0.0.0/0=wan0']);
  t.is(r4.code, 2);
  t.is(r4.err.trim(), `ctsim: ${join(dir, 'm.nft')}:4:20: masquerade needs an address on the outgoing interface, and wan0 has none; declare it with the route (e.g. --route 0.0.0.0/0=wan0@203.0.113.1, or addr: in routes:)`);
  const r5 = await capture(['replay', capFile, '--ruleset', join(dir, 'none.nft')]);
  t.is(r5.code, 2);
  t.is(r5.err.trim(), `ctsim: ${join(dir, 'none.nft')}: ruleset file not found`);
  const r6 = await capture(['replay', capFile, '--ruleset', put('ok.nft', RULES), '--route', '0.0.0.0/0=wan0@203.0.113.1', '--json']);
  t.is(r6.code, 0, r6.err);
});
