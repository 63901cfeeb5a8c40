import { Command } from 'commander';
import { InputError } from '../io/errors.js';
import { loadScenarioFile, registriesFor, resolveScenarioArg } from '../io/scenario-files.js';
import { toJson } from '../io/format.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check scenario files without running them; exit 2 if any has a problem')
    .argument('<scenario...>', 'scenario files (YAML or JSON), or names of built-in scenarios')
    .addHelpText('after', `
Prints one line per problem: file:line: path: what was expected.

Examples:
  $ ctsim validate scenarios/*.yaml
  $ ctsim validate my.yaml --set traffic[0].rate=5000`)
    .action(async (files: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ set?: string[]; json?: boolean; quiet?: boolean; policy?: string[] }>();
      const reg = await registriesFor(o.policy ?? [], files.map(resolveScenarioArg));
      const problems: string[] = [];
      const report: { file: string; ok: boolean; issues: string[] }[] = [];
      for (const f of files) {
        try {
          loadScenarioFile(resolveScenarioArg(f), o.set ?? [], reg);
          report.push({ file: f, ok: true, issues: [] });
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          problems.push(...e.lines);
          report.push({ file: f, ok: false, issues: [...e.lines] });
        }
      }
      if (o.json) process.stdout.write(toJson(report));
      else if (!o.quiet) for (const r of report) if (r.ok) process.stdout.write(`${r.file}: ok\n`);
      if (problems.length > 0) throw new InputError(problems);
    });
}
