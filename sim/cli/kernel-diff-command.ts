/**
 * `ctsim kernel-diff [case...]`: differential testing of the model against the live Linux
 * kernel (sim/kernel). Exit codes: 0 every selected case passed, 1 a case failed or errored,
 * 2 unknown case, 77 skipped (not root, not Linux, a tool or conntrack missing).
 */
import { Command } from 'commander';
import { ALL_CASES } from '../kernel/cases.js';
import { installCleanupHandlers, realDeps, runKernelDiff } from '../kernel/run.js';
import { pauseSignalHandlers } from '../io/interrupt.js';
import { ctsimVersion } from '../io/scenario-files.js';
import { EXIT_OK, ExitWith } from '../io/errors.js';

/** Adds the `kernel-diff` command to the program. */
export function registerKernelDiff(program: Command): void {
  program
    .command('kernel-diff')
    .description('compare the model with the live Linux kernel: play each case through real namespaces, replay the capture, compare (root)')
    .argument('[case...]', 'case names or name prefixes (default: all)')
    .option('--keep <dir>', 'keep each case\'s capture, conntrack output, driver log and observations in <dir>/<case>')
    .option('--keep-capture <dir>', 'copy each case\'s capture and conntrack -S output to <dir>/<case>.pcap and <dir>/<case>.conntrack-S.txt (sample captures for replay)')
    .option('--list', 'list the cases and exit')
    .option('--json', 'print the results as JSON on stdout (progress stays on stderr)')
    .addHelpText('after', `
What it does, per case: creates three network namespaces (client, firewall, server) joined by
veth pairs on 10.200.0.0/16 with no route out; activates conntrack in the firewall with an
nftables ruleset that accepts everything; sends the case's traffic (real sockets, or crafted
packets through raw sockets from a Python driver); captures what the firewall received with
tcpdump; reads conntrack -S, -L, -E and nf_conntrack_count; removes the namespaces; replays
the capture through the model with the same sysctls and HZ; compares. Outcomes that depend
on the kernel's random hash key are compared with the model over 30 seeds.

Global sysctls (nf_conntrack_max, nf_conntrack_buckets) are changed only while the initial
namespace tracks no connection, and restored afterwards, also on error or Ctrl-C.
Needs root, Linux, conntrack, and: ip (iproute2), nft (nftables), conntrack (conntrack),
tcpdump, python3. Takes about 3 minutes for all cases.

Cases: ${ALL_CASES.map((c) => c.name).join(', ')}

Examples:
  $ sudo ctsim kernel-diff                      # every case, report + Markdown table
  $ sudo ctsim kernel-diff tcp udp-stream       # TCP cases (prefix) and the UDP stream rule
  $ sudo ctsim kernel-diff overflow --keep /tmp/kd --json
  $ sudo ctsim kernel-diff tcp-real --keep-capture scenarios/captures   # a real kernel's capture

Exit codes: 0 all passed, 1 a case failed, 2 unknown case, 77 skipped (not root / no tools).`)
    .action(async (words: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ keep?: string; keepCapture?: string; list?: boolean; json?: boolean }>();
      const deps = realDeps(ctsimVersion());
      const resume = pauseSignalHandlers();
      const uninstall0 = o.list ? () => undefined : installCleanupHandlers(deps.stderr);
      const uninstall = (): void => { uninstall0(); resume(); };
      let code: number;
      try {
        code = await runKernelDiff({ cases: words, json: o.json, keep: o.keep, keepCapture: o.keepCapture, list: o.list }, deps);
      } finally {
        uninstall();
      }
      // main() maps a normal return to exit 0, so other codes (1, 77) end the process here.
      if (code !== EXIT_OK) throw new ExitWith(code);
    });
}
