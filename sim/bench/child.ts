/**
 * Child-process entry of `ctsim bench`: runs one repetition of one workload and prints its
 * sample as one JSON line. Each repetition gets a fresh process (started with --expose-gc), so
 * peak RSS and heap growth belong to that workload alone and JIT state does not carry over.
 *
 *   node --expose-gc dist/sim/bench/child.js '{"workload":"syn-flood","sizes":{...}}'
 */
import { runWorkload, type BenchSizes, type WorkloadName } from './workloads.js';

const arg = process.argv[2];
if (arg === undefined) {
  process.stderr.write('usage: child.js <json {workload, sizes}>\n');
  process.exitCode = 2;
} else {
  const { workload, sizes } = JSON.parse(arg) as { workload: WorkloadName; sizes: BenchSizes };
  const r = runWorkload(workload, sizes);
  process.stdout.write(JSON.stringify(r) + '\n');
}
