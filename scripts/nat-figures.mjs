#!/usr/bin/env node
// Runs the NAT scenarios and their variants (seed 1, run 0), prints the figures the README quotes
// and writes the comparison charts to docs/img/. Usage: node scripts/nat-figures.mjs [k8s|cgnat|dns]
// (after `npx tsc -p .`). Deterministic: the same build gives the same figures and images.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioFromYaml, runScenarioInMemory } from '../dist/sim/index.js';
import { natPortsSpec } from '../dist/sim/charts/nat.js';
import { renderAll } from '../dist/sim/charts/render.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = {
  k8s: { title: 'k8s-node-snat: SNAT port exhaustion and its fixes', base: 'k8s-node-snat', variants: ['', 'fully-random', 'wide-range', '4-addresses', 'kernel-6.12', 'nodelocal-dns'] },
  cgnat: { title: 'cgnat: subscribers behind a carrier-grade NAT', base: 'cgnat', variants: ['', 'port-blocks'] },
  dns: { title: 'dns-race: the A/AAAA clash by kernel version', base: 'dns-race', variants: [], versions: ['4.19', '5.4', '5.9', '6.12'] },
};

async function group(key) {
  const g = GROUPS[key];
  const series = [];
  const runs = g.versions
    ? g.versions.map((v) => ({ label: `kernel ${v}`, file: `${g.base}.yaml`, set: [`kernel.version="${v}"`] }))
    : g.variants.map((v) => ({ label: v === '' ? 'baseline' : v, file: v === '' ? `${g.base}.yaml` : `${g.base}-${v}.yaml`, set: [] }));
  for (const r of runs) {
    const path = join(root, 'scenarios', r.file);
    const sc = scenarioFromYaml(readFileSync(path, 'utf8'), r.set, path);
    const { summary, columns, rows } = runScenarioInMemory(sc, 0);
    const n = summary.nat;
    const gens = summary.generators.map((x) => `${x.label}: started ${x.started}, ok ${x.succeeded}, failed ${x.failed}, dropped ${x.dropped}/${x.packets}`).join('; ');
    const first = summary.generators.map((x) => x.first_drop_s).filter((x) => x !== null);
    console.log(`${key} ${r.label}: insert_failed ${n.insert_failed}, drop ${n.drop}, clash_resolve ${n.clash_resolve}, found ${n.found}, ` +
      `exhausted ${n.exhausted}, evicted_time_wait ${n.evicted_time_wait}, nat_clash_entries ${n.nat_clash_entries}, peak_port_util ${n.peak_port_util}, ` +
      `answered_after_resend ${n.lookups_answered_after_resend}, first drop ${first.length ? Math.min(...first).toFixed(1) + ' s' : '-'}, peak entries ${summary.table.peak_count}; ${gens}`);
    if (n.port_keys[0]) console.log(`   busiest key: ${JSON.stringify(n.port_keys[0])}`);
    series.push({ label: r.label, columns, rows });
  }
  const spec = natPortsSpec(g.title, 'ctsim, seed 1, run 0 of each variant (scripts/nat-figures.mjs)', series);
  const [c] = await renderAll({ [g.base]: spec });
  writeFileSync(join(root, 'docs', 'img', `${g.base}.png`), c.png);
  console.log(`wrote docs/img/${g.base}.png`);
}

for (const k of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(GROUPS)) await group(k);
