import { Command } from 'commander';
import { POLICIES } from '../../policies/index.js';
import { GENERATORS } from '../traffic/registry.js';
import { builtinScenarios } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';

/** One line per scenario, generator and policy. */
export function listing(): { scenarios: { name: string; description: string }[]; generators: { name: string; summary: string }[]; policies: { name: string; summary: string }[] } {
  return {
    scenarios: builtinScenarios().map((s) => ({ name: s.name, description: s.description })),
    generators: Object.entries(GENERATORS).map(([name, g]) => ({ name, summary: g.summary })),
    policies: Object.entries(POLICIES).map(([name, p]) => ({ name, summary: p.summary })),
  };
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list built-in scenarios, traffic generators and policies, one line each')
    .addHelpText('after', `
Examples:
  $ ctsim list
  $ ctsim list --json`)
    .action((_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean }>();
      const l = listing();
      if (o.json) return void process.stdout.write(toJson(l));
      const w = (rows: { name: string; text: string }[]) => {
        const n = Math.max(...rows.map((r) => r.name.length), 4);
        return rows.map((r) => `  ${r.name.padEnd(n)}  ${r.text}`).join('\n');
      };
      process.stdout.write(
        `scenarios:\n${w(l.scenarios.map((s) => ({ name: s.name, text: s.description })))}\n` +
        `generators:\n${w(l.generators.map((g) => ({ name: g.name, text: g.summary })))}\n` +
        `policies:\n${w(l.policies.map((p) => ({ name: p.name, text: p.summary })))}\n`);
    });
}
