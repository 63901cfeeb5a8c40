import { Command } from 'commander';
import { InputError } from '../io/errors.js';
import { ctsimVersion, loadScenarioFile, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';
import { resolvedInput, resolvedYaml } from '../scenario/resolved.js';
import { defaultSizing } from '../conntrack/sizing.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check scenario files without running them; exit 2 if any has a problem')
    .argument('<scenario...>', 'scenario files (YAML or JSON), or names of built-in scenarios')
    .option('--resolved', 'print each scenario fully defaulted, as YAML a user could have written (it validates)')
    .addHelpText('after', `
Prints one line per problem: file:line: path: what was expected. With --resolved, prints the
scenario with every default filled in (durations and sizes with units, addresses as text, rate
shapes as written); save it as a scenario file of its own.

Examples:
  $ ctsim validate scenarios/*.yaml
  $ ctsim validate my.yaml --set traffic[0].rate=5000
  $ ctsim validate mixed --resolved > mixed-full.yaml`)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ set?: string[]; json?: boolean; quiet?: boolean; policy?: string[]; resolved?: boolean }>();
      const resolvedOut: string[] = [];
      const resolvedJson: Record<string, unknown>[] = [];
      const reg = await registriesFor(o.policy ?? [], files.map(resolveScenarioArg));
      const problems: string[] = [];
      const report: { file: string; ok: boolean; issues: string[] }[] = [];
      for (const f of files) {
        try {
          const sc = loadScenarioFile(resolveScenarioArg(f), o.set ?? [], reg);
          report.push({ file: f, ok: true, issues: [] });
          if (o.resolved) {
            const v = sc.kernel.version.split('.').map(Number) as [number, number];
            const size = defaultSizing(sc.kernel.memory, sc.kernel.hashsize, v);
            resolvedOut.push(resolvedYaml(sc, reg, `${f} resolved by ctsim ${ctsimVersion()}${(o.set ?? []).length ? ` with --set ${(o.set ?? []).join(' --set ')}` : ''}\n` +
              `sysctls not listed keep the kernel defaults; the table: nf_conntrack_max ${sc.sysctl.nf_conntrack_max ?? size.max}, nf_conntrack_buckets ${sc.sysctl.nf_conntrack_buckets ?? size.buckets} (as set, or sized by the kernel from kernel.memory)`));
            resolvedJson.push(resolvedInput(sc, reg));
          }
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          problems.push(...e.lines);
          report.push({ file: f, ok: false, issues: [...e.lines] });
        }
      }
      if (o.resolved) {
        if (o.json) process.stdout.write(toJson(resolvedJson.length === 1 ? resolvedJson[0] : resolvedJson));
        else process.stdout.write(resolvedOut.join('---\n'));
      } else if (o.json) process.stdout.write(toJson(report));
      else if (!o.quiet) for (const r of report) if (r.ok) process.stdout.write(`${r.file}: ok\n`);
      if (problems.length > 0) throw new InputError(problems);
    });
}
