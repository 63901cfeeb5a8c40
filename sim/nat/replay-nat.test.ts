import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../io/scenario-files.js';
import { replayCapture } from '../replay/replay.js';
import { buildRoutes, loadRuleset, parseRouteArg, type RouteEntry } from '../rules/index.js';

const dir = join(packageRoot(), 'docs', 'captures');

function replayNat() {
  const entries = ['10.98.0.0/24=f1', '0.0.0.0/0=wan0@203.0.113.1'].map((a) => parseRouteArg(a) as RouteEntry);
  const built = buildRoutes(entries);
  if (!built.ok) throw new Error('routes');
  const ruleset = loadRuleset(readFileSync(join(dir, 'nat-gw.nft'), 'utf8'), 'nat-gw.nft', built.routes);
  const bytes = readFileSync(join(dir, 'nat-gw-inside.pcap'));
  // veth captures carry offloaded (partial) checksums
  return replayCapture(new Uint8Array(bytes), 'nat-gw-inside.pcap', { ruleset, routes: built.routes, sysctl: { nf_conntrack_checksum: 0 } });
}

/** A listing line without its timeout, and with the port the search chose (random) replaced. */
function normalise(line: string): string {
  return line.replace(/^(\S+\s+\d+) \d+ /, '$1 ').replace(/(src=203\.0\.113\.10 dst=203\.0\.113\.1 sport=53) dport=(?!40000)\d+/, '$1 dport=SEARCHED');
}

test('replay of an inside capture with masquerade lists the table as the gateway\'s kernel did (docs/nat.md §1.5, §6.1)', (t) => {
  const r = replayNat();
  t.is(r.malformed, 0);
  t.is(r.dropped, 0);
  // recorded on the gateway by scripts/record-nat-capture.sh right after the capture
  const kernel = readFileSync(join(dir, 'nat-gw-inside.conntrack-L.txt'), 'utf8').trim().split('\n');
  t.deepEqual(r.listing.map(normalise).sort(), kernel.map(normalise).sort());
  // the second client's UDP port 40000 collided with the first's mapping: found once, port searched
  t.is(r.stats['found'], 1);
  const searched = r.listing.find((l) => l.includes('src=10.98.0.3') && l.includes('dport=53 '))!;
  const port = Number(/dst=203\.0\.113\.1 sport=53 dport=(\d+)/.exec(searched)![1]);
  t.true(port >= 1024 && port <= 65535 && port !== 40000);
  t.is(r.nat?.['mappings'], 6);
});

test('replay without a ruleset has no NAT block and swapped reply tuples (docs/nat.md §1.3)', (t) => {
  const bytes = readFileSync(join(dir, 'nat-gw-inside.pcap'));
  const r = replayCapture(new Uint8Array(bytes), 'x.pcap', { sysctl: { nf_conntrack_checksum: 0 } });
  t.is(r.nat, undefined);
  t.true(r.listing.every((l) => !l.includes('dst=203.0.113.1 ')));
  t.is(r.listing.length, 6);
});
