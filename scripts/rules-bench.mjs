// Cost of Ruleset.natLookup (sim/rules): nanoseconds per lookup and per rule, and heap growth over
// the timed lookups (0 per lookup when nothing is allocated on the hot path).
// Usage (after `npx tsc -p .`): node --expose-gc scripts/rules-bench.mjs [rules=100] [lookups=2000000]
// The ruleset: N-1 snat rules (ip saddr prefix, udp dport set, oifname) and a final masquerade;
// half the packets are TCP to 443, which only the last rule matches (the worst case: every rule tried).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'sim');
const { loadRuleset, buildRoutes } = await import(join(dist, 'rules', 'index.js'));
const { Pkt } = await import(join(dist, 'conntrack', 'packet.js'));
const N = Number(process.argv[2] ?? 100), M = Number(process.argv[3] ?? 2_000_000);
const built = buildRoutes([{ prefix: '10.0.0.0/8', iface: 'lan0' }, { prefix: '0.0.0.0/0', iface: 'wan0', addr: '203.0.113.1' }]);
let rules = '';
for (let i = 0; i < N - 1; i++) rules += `    ip saddr 10.${i % 250}.0.0/16 udp dport { 53, 123, 1000-2000 } oifname "wan0" snat to 198.51.100.${(i % 250) + 1}\n`;
rules += '    oifname "wan0" masquerade\n';
const rs = loadRuleset(`table ip nat {\n  chain post {\n    type nat hook postrouting priority srcnat;\n${rules}  }\n}\n`, 'bench.nft', built.routes);
const p = new Pkt(); p.l3 = 4; p.len = 60;
let acc = 0;
const run = (count) => {
  for (let i = 0; i < count; i++) {
    p.src = (10 << 24) | (i & 0xffffff); p.dst = 0x08080808; p.proto = (i & 1) ? 6 : 17; p.dport = (i & 2) ? 53 : 443;
    acc += rs.natLookup('postrouting', p, 0, 1);
  }
};
run(200_000); // warm-up (JIT)
if (globalThis.gc) globalThis.gc();
const h0 = process.memoryUsage().heapUsed;
const t0 = process.hrtime.bigint();
run(M);
const ns = Number(process.hrtime.bigint() - t0);
const h1 = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ rules: N, lookups: M, nsPerLookup: +(ns / M).toFixed(1), nsPerLookupPerRule: +(ns / M / N).toFixed(2), heapGrowthBytes: h1 - h0, gcExposed: !!globalThis.gc, checksum: acc }));
