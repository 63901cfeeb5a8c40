/**
 * `conntrack -S` lines as conntrack-tools prints them (docs/model.md §9.3), checked against the
 * real output kernel-diff recorded on Linux 6.18 with conntrack-tools 1.4.7
 * (`ctsim kernel-diff overflow-default-buckets tcp-real --keep-capture scenarios/captures`):
 * one line per CPU, `cpu=%-4u`, a tab, `name=value ` per counter, no expect_* fields.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../io/scenario-files.js';
import { formatRunSummary } from '../cli/run-command.js';
import { replayCapture } from '../replay/replay.js';
import { runScenarioInMemory, scenarioFromYaml } from '../index.js';
import { formatConntrackSLine } from './stats.js';

const dir = join(packageRoot(), 'scenarios', 'captures');
const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
/** Independent parse of a recorded line: cpu number and counters in their printed order. */
function parseLine(line: string): { cpu: number; counters: [string, number][] } {
  const m = /^cpu=(\d+) *\t(.*)$/.exec(line);
  if (!m) throw new Error(`not a conntrack -S line: ${JSON.stringify(line)}`);
  const counters = m[2]!.trim().split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)] as [string, number]);
  return { cpu: Number(m[1]), counters };
}
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

test('every recorded kernel line is reproduced byte for byte from its counters (non-zero and all-zero)', (t) => {
  for (const f of ['syn-flood.conntrack-S.txt', 'web.conntrack-S.txt']) {
    const text = read(f);
    t.true(text.endsWith('\n'));
    const ls = lines(text);
    t.true(ls.length >= 1);
    ls.forEach((line, i) => {
      const { cpu, counters } = parseLine(line);
      t.is(cpu, i, 'one line per CPU, in order');
      t.is(formatConntrackSLine(Object.fromEntries(counters), cpu, '6.18'), line, `${f} line ${i}`);
    });
  }
});

test('the model prints cpu=0 with the totals, same fields in the same order as the kernel', (t) => {
  const kernel = lines(read('syn-flood.conntrack-S.txt')).map(parseLine);
  const total = (k: string) => kernel.reduce((s, l) => s + l.counters.find(([n]) => n === k)![1], 0);
  const cap = new Uint8Array(readFileSync(join(dir, 'syn-flood.pcap')));
  // the kernel had nf_conntrack_max=99 and the host's default 262144 buckets
  const r = replayCapture(cap, 'syn-flood.pcap', { version: '6.18', sysctl: { nf_conntrack_max: 99, nf_conntrack_buckets: 262144 } });
  const line = formatConntrackSLine(r.stats, 0, r.version);
  const model = parseLine(line);
  t.is(model.cpu, 0);
  t.deepEqual(model.counters.map(([k]) => k), kernel[0]!.counters.map(([k]) => k));
  t.false(line.includes('expect_'));
  // 1200 SYNs and 5 handshakes, 99 entries left: every other SYN was dropped or its entry early-dropped
  t.is(r.stats.drop! + r.stats.early_drop!, total('drop') + total('early_drop'));
  t.is(r.count, 99);
  // all-zero counters: the model's line for the web capture equals the kernel's cpu=0 line exactly
  const web = replayCapture(new Uint8Array(readFileSync(join(dir, 'web.pcap'))), 'web.pcap', { version: '6.18' });
  t.is(formatConntrackSLine(web.stats, 0, web.version), lines(read('web.conntrack-S.txt'))[0]);
});

test('fields by kernel version: clash_resolve from 5.9, chaintoolong from 5.15', (t) => {
  const keys = (v: string) => parseLine(formatConntrackSLine({}, 0, v)).counters.map(([k]) => k).join(' ');
  t.is(keys('5.4'), 'found invalid insert insert_failed drop early_drop error search_restart');
  t.is(keys('5.10'), 'found invalid insert insert_failed drop early_drop error search_restart clash_resolve');
  t.is(keys('6.1'), 'found invalid insert insert_failed drop early_drop error search_restart clash_resolve chaintoolong');
  t.is(formatConntrackSLine({}, 12), 'cpu=12  \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 ');
});

test('ctsim run prints the conntrack -S line (never an empty line, also when every counter is 0)', (t) => {
  const sc = scenarioFromYaml('name: quiet\nduration: 2s\ntraffic:\n  - kind: tcp-clients\n    rate: 5\n');
  const { summary } = runScenarioInMemory(sc);
  t.true(Object.values(summary.conntrack_S).every((v) => v === 0));
  const text = formatRunSummary(summary, 'results/quiet/s1-r0');
  t.false(text.split('\n').slice(0, -1).some((l) => l.trim() === ''));
  t.regex(text, /^cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 $/m);
});
