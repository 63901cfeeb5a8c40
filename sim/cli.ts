#!/usr/bin/env node
/**
 * ctsim command line. The only place (with sim/cli/) that reads files, parses argv, writes
 * results/ and sets the exit code. Exit codes: 0 ok, 1 run failed, 2 bad input, 77 skipped.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { scenarioJsonSchema } from './scenario/json-schema.js';
import { collect } from './cli/common.js';
import { ctsimVersion, packageRoot, SCENARIO_REGISTRY } from './io/scenario-files.js';
import { toJson } from './io/format.js';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, ExitWith, InputError, UserPolicyError, environmentMessage } from './io/errors.js';
import { installSignalHandlers } from './io/interrupt.js';
import { TEXT_LIMIT } from './scenario/schema-dsl.js';
import { DEFAULT_LIMITS, LIMITS } from './io/limits.js';
import { writeFileAtomic } from './io/files.js';
import { registerCompare, runCompare } from './cli/compare-command.js';
import { formatComparison } from './run/compare-format.js';
import { registerKernelDiff } from './cli/kernel-diff-command.js';
import { registerList } from './cli/list-command.js';
import { registerRegress } from './cli/regress-command.js';
import { registerReplay } from './cli/replay-command.js';
import { registerReport } from './cli/report-command.js';
import { registerRun, type SimOptions } from './cli/run-command.js';
import { registerValidate } from './cli/validate-command.js';
import { registerBench } from './cli/bench-command.js';
import { registerMerge, registerSweep } from './cli/sweep-command.js';
import { registerStore } from './cli/store-command.js';

/** The policies `ctsim start` compares on the flagship scenario. */
export const FLAGSHIP_POLICIES = 'kernel,l4-aware,l4-aware-evict-assured,soft-timeout,adaptive-timeout,keepalive';
/** The variants of scenarios/mixed.yaml `ctsim start` compares with them (`--arms`). */
export const FLAGSHIP_ARMS = 'bigger-table,synproxy';

const EXIT_HELP = `
Exit codes: 0 ok; 1 run failed (a bug, or a user policy that threw, returned a bad value, wrote
the table or ran past --hook-timeout; stack trace with --debug); 2 bad input or environment
(scenario, capture, flag, a file system error, a limit; the message names the file, the path in
it and what to do); 77 skipped; 130/143 stopped by SIGINT/SIGTERM (nothing half-written left).`;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ctsim')
    .description('Deterministic discrete-event simulator of Linux netfilter conntrack under table exhaustion')
    .version(ctsimVersion())
    .addOption(new Option('--seed <n>', 'override the scenario seed'))
    .addOption(new Option('--out <dir>', 'results directory (default: results/ in the current directory)'))
    .addOption(new Option('--set <path=value>', 'override a scenario field, e.g. sysctl.nf_conntrack_max=65536 (repeatable)').argParser(collect))
    .addOption(new Option('--policy <file>', 'load a user policy module (repeatable); use it by its path or base name').argParser(collect))
    .option('--json', 'machine-readable output on stdout')
    .option('--quiet', 'no progress bar and no summary')
    .option('--debug', 'print the stack trace of an internal error (exit 1)')
    .addOption(new Option('--hook-timeout <seconds>', `wall time one call of a user policy hook may take before the run is stopped (default ${DEFAULT_LIMITS.hookSeconds})`))
    .addOption(new Option('--max-samples <n>', `metric samples per run allowed (default ${DEFAULT_LIMITS.samplesPerRun})`))
    .addOption(new Option('--max-text <chars>', `longest text field accepted in scenario, sweep and suite files (default ${TEXT_LIMIT.chars})`))
    .showHelpAfterError()
    .addHelpText('after', `
Examples:
  $ ctsim start                                  # the flagship policy comparison on built-in defaults
  $ ctsim compare mixed --policies kernel,l4-aware  # identical traffic through several policies
  $ ctsim run scenarios/syn-flood-vs-web.yaml    # a scenario file → results/
  $ ctsim replay capture.pcap --idle 75 --json   # a packet capture through the model
  $ ctsim list                                   # scenarios, generators, policies
${EXIT_HELP}`);
  registerRun(program);
  registerValidate(program);
  registerList(program);
  registerReplay(program);
  registerCompare(program);
  registerReport(program);
  registerKernelDiff(program);
  registerRegress(program);
  registerBench(program);
  registerSweep(program);
  registerMerge(program);
  registerStore(program);

  program
    .command('start')
    .description('the flagship comparison: scenarios/mixed.yaml through the main policies, a bigger table and SYNPROXY, on built-in defaults')
    .option('--runs <n>', 'runs per policy', '1')
    .option('--no-charts', 'do not render the charts')
    .option('--force', 'run again even when results/ already holds this comparison')
    .addHelpText('after', `
Runs: ctsim compare scenarios/mixed.yaml --policies ${FLAGSHIP_POLICIES} --arms ${FLAGSHIP_ARMS}

Examples:
  $ npm start
  $ ctsim start --runs 3 --json`)
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SimOptions & { runs: string }>();
      const { comparison, dir, id, reused } = await runCompare(join(packageRoot(), 'scenarios', 'mixed.yaml'), { ...o, policies: FLAGSHIP_POLICIES, arms: FLAGSHIP_ARMS });
      if (o.json) process.stdout.write(toJson(comparison));
      else if (!o.quiet) process.stdout.write((reused ? `reused ${id}: results/ already holds this comparison (--force runs it again)\n` : '') + formatComparison(comparison) + `→ ${dir}\n`);
    });

  program
    .command('schema')
    .description('write the scenario JSON Schema (for editor autocompletion)')
    .option('-o, --output <file>', 'where to write it', join(packageRoot(), 'scenarios', 'scenario.schema.json'))
    .addHelpText('after', `
Scenario files can then start with: $schema: ./scenario.schema.json

Example:
  $ ctsim schema -o scenarios/scenario.schema.json`)
    .action((o: { output: string }) => {
      writeFileAtomic(o.output, toJson(scenarioJsonSchema(SCENARIO_REGISTRY)));
    });

  return program;
}

/** Limit options (read before commander, since schema validation and sweep planning consult them). */
function applyLimitOptions(argv: readonly string[]): void {
  const num = (flag: string, int: boolean): number | undefined => {
    const i = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    if (i < 0) return undefined;
    const text = argv[i]!.includes('=') ? argv[i]!.slice(flag.length + 1) : argv[i + 1] ?? '';
    const v = Number(text);
    if (!(v > 0) || !Number.isFinite(v) || (int && !Number.isInteger(v))) throw new InputError(`${flag}: expected a positive ${int ? 'integer' : 'number'}, got "${text}"`);
    return v;
  };
  TEXT_LIMIT.chars = num('--max-text', true) ?? TEXT_LIMIT.chars;
  LIMITS.samplesPerRun = num('--max-samples', true) ?? LIMITS.samplesPerRun;
  LIMITS.sweepCases = num('--max-cases', true) ?? LIMITS.sweepCases;
  LIMITS.replayGapSeconds = num('--max-gap', false) ?? LIMITS.replayGapSeconds;
  LIMITS.hookSeconds = num('--hook-timeout', false) ?? LIMITS.hookSeconds;
}

/** Runs the CLI and returns the exit code (never calls process.exit itself). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of program.commands) c.exitOverride();
  const debug = argv.includes('--debug');
  const textBefore = TEXT_LIMIT.chars;
  try {
    applyLimitOptions(argv);
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof ExitWith) return e.code;
    if (e instanceof InputError) {
      for (const l of e.lines) process.stderr.write(`ctsim: ${l}\n`);
      return EXIT_BAD_INPUT;
    }
    const env = environmentMessage(e);
    if (env !== undefined) {
      process.stderr.write(`ctsim: ${env}\n`);
      if (debug) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof UserPolicyError) {
      process.stderr.write(`ctsim: ${e.message}\n`);
      if (debug) process.stderr.write(`${e.stack ?? ''}\n`);
      return EXIT_RUN_FAILED;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(debug ? `ctsim: run failed: ${(e as Error).stack ?? msg}\n`
      : `ctsim: run failed (an internal error; rerun with --debug for the stack trace and report it): ${msg.split('\n')[0]}\n`);
    return EXIT_RUN_FAILED;
  } finally {
    TEXT_LIMIT.chars = textBefore;
    Object.assign(LIMITS, DEFAULT_LIMITS);
  }
}

// Run when executed directly (also through the npm bin link), not when imported by tests.
function invokedDirectly(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  installSignalHandlers();
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
