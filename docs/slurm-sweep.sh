#!/usr/bin/env bash
# Fan a ctsim sweep out over a Slurm array job: one deterministic shard per array task, then one
# job that merges the shards (it starts when every task has succeeded).
#
# On the login node, from the ctsim checkout (built: npm ci), with results on a shared filesystem:
#
#   docs/slurm-sweep.sh scenarios/sweeps/table-size.yaml 8        # 8 array tasks + the merge
#   OUT=/scratch/$USER/ctsim docs/slurm-sweep.sh my-sweep.yaml 32
#   CPUS_PER_TASK=1 docs/slurm-sweep.sh my-sweep.yaml 16             # one CPU (one worker) per task
#
# Each task runs `ctsim sweep SWEEP --shard N`, which takes its shard index from
# SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN), and writes OUT/<name>/sweep-shard-<i>-of-<N>/.
# The merge writes OUT/<name>/sweep/, byte-identical to running the whole sweep on one machine.
# A failed task can be re-run alone (sbatch --array=<i> ...): shards are independent.
#
#SBATCH --job-name=ctsim-sweep
#SBATCH --cpus-per-task=2
#SBATCH --mem-per-cpu=2G
#SBATCH --time=04:00:00
#SBATCH --output=ctsim-sweep-%A_%a.log
set -euo pipefail

CTSIM_DIR=${CTSIM_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CTSIM=(node "$CTSIM_DIR/dist/sim/cli.js")

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  # --- submit: validate the whole grid first (bad input and the memory guard fail here, exit 2) ---
  SWEEP=$(realpath "${1:?usage: $0 SWEEP.yaml [SHARDS]}")
  SHARDS=${2:-8}
  OUT=$(realpath -m "${OUT:-$PWD/results}")
  mkdir -p "$OUT"
  plan=$("${CTSIM[@]}" sweep "$SWEEP" --dry-run --json --workers 2 --shard "0/$SHARDS")
  name=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).name)' "$plan")
  cases=$(node -e 'process.stdout.write(String(JSON.parse(process.argv[1]).cases_total))' "$plan")
  echo "sweep $name: $cases cases in $SHARDS shards → $OUT/$name/"
  jid=$(sbatch --parsable --array="0-$((SHARDS - 1))" ${CPUS_PER_TASK:+--cpus-per-task="$CPUS_PER_TASK"} \
    --export=ALL,SWEEP="$SWEEP",SHARDS="$SHARDS",OUT="$OUT",CTSIM_DIR="$CTSIM_DIR" "${BASH_SOURCE[0]}")
  sbatch --parsable --job-name=ctsim-merge --dependency="afterok:${jid%%;*}" --time=00:30:00 --mem=4G \
    --output="ctsim-merge-%j.log" --wrap "node '$CTSIM_DIR/dist/sim/cli.js' merge '$OUT/$name' --out '$OUT'"
  exit 0
fi

# --- one array task: one shard, on this task's CPUs ---
cd "$CTSIM_DIR"
exec "${CTSIM[@]}" sweep "$SWEEP" --shard "$SHARDS" --workers "${SLURM_CPUS_PER_TASK:-1}" --out "$OUT" --quiet
