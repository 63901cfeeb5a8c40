/**
 * Bad rule-path input (docs/rules.md §8): an unknown statement, a statement in a chain type
 * that cannot hold it, a statement at a hook that refuses it, and the CLI exit code 2 with
 * file:line:col. Messages are written out in full: they are what the user reads.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { loadRuleset } from './index.js';

const err = (text: string): string => { try { loadRuleset(text, 'r.nft', undefined); return 'no error'; } catch (e) { return (e as Error).message; } };
const chain = (type: string, hook: string, prio: string, body: string) => `table inet t {\n  chain c {\n    type ${type} hook ${hook} priority ${prio};\n    ${body}\n  }\n}\n`;

test('an unknown statement names its line, column and what is supported (docs/rules.md §8)', (t) => {
  t.regex(err(chain('filter', 'forward', 'filter', 'ct state new frobnicate')), /^r\.nft:4:18: unknown or unsupported "frobnicate"; supported: ip saddr\|daddr\|protocol, /);
  t.is(err(chain('filter', 'forward', 'filter', 'ct bogus 1 drop')).split(';')[0], 'r.nft:4:8: unsupported ct key "bogus"');
  t.is(err(chain('filter', 'forward', 'filter', 'ct state nw drop')), 'r.nft:4:14: unknown ct state "nw"; expected one of invalid, established, related, new, untracked');
  t.is(err(chain('filter', 'forward', 'filter', 'tcp flags syn|bogus drop')), 'r.nft:4:19: unknown TCP flag "bogus"; expected one of fin, syn, rst, psh, ack, urg, ecn, cwr');
  t.is(err(chain('filter', 'forward', 'filter', 'ct mark set 0x1ffffffff')), 'r.nft:4:17: expected a mark value (0..4294967295, decimal or 0x hex), got "0x1ffffffff"');
  t.is(err(chain('filter', 'forward', 'filter', 'drop accept')), 'r.nft:4:10: "accept" follows a terminal statement (drop), which ends the rule; nothing after it has an effect');
});

test('a statement in the wrong chain type: NAT statements only in type nat chains, policy drop only in filter chains (docs/rules.md §8.2)', (t) => {
  t.is(err(chain('filter', 'postrouting', 'srcnat', 'masquerade')), 'r.nft:4:5: masquerade is only allowed in a type nat chain (chain c is type filter)');
  t.is(err(chain('filter', 'prerouting', 'dstnat', 'ip daddr 10.0.0.1 dnat to 10.0.0.2')), 'r.nft:4:23: dnat is only allowed in a type nat chain (chain c is type filter)');
  t.is(err('table ip t {\n  chain c {\n    type nat hook postrouting priority srcnat; policy drop;\n  }\n}\n'), 'r.nft:3:55: policy drop in a type nat chain is not supported (use it in a type filter chain)');
  t.is(err(chain('filter', 'forward', 'filter', 'notrack')), 'no error', 'nft accepts notrack at every hook (nft_ct.c: no validate)');
  t.is(err(chain('filter', 'input', 'filter', 'ct zone set 3')), 'no error');
});

test('the CLI exits 2 with the scenario file:line:col for a bad inline filter rule', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctsim-rules-bad-'));
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'duration: 2s\nkernel: { memory: 512MiB }\ntraffic:\n  - kind: tcp-clients\n    rate: 5\nruleset: |\n  table inet f {\n    chain fwd {\n      type filter hook forward priority filter;\n      ct state establshed accept\n    }\n  }\n');
  let errText = '';
  const ew = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { errText += s; return true; }) as typeof process.stderr.write;
  let code: number;
  try { code = await main(['validate', f]); } finally { process.stderr.write = ew; }
  t.is(code, 2);
  // line 10: '      ct state establshed accept' → the state name at column 16
  t.is(errText.trim(), `ctsim: ${f}:10:16: ruleset: unknown ct state "establshed"; expected one of invalid, established, related, new, untracked`);
});
