#!/usr/bin/env bash
# End-to-end test of docs/slurm-sweep.sh on a real Slurm: brings up a one-node cluster on this
# machine (munged with a generated key, slurmctld + slurmd as root, this host as controller and
# compute node, its CPUs as slots), submits a small sweep as an array job plus the dependent merge
# job, waits for both, and checks the merged output is byte-identical to `ctsim sweep` of the same
# file on this machine (one worker). Everything lives in a temporary folder; the daemons are
# stopped on exit.
#
#   scripts/slurm-test.sh              # needs root, slurm-wlm and munge (apt-get install slurm-wlm munge)
#   KEEP=1 scripts/slurm-test.sh       # keep the temporary folder (its path is printed)
#   SWEEP=scenarios/sweeps/table-size.yaml SHARDS=2 scripts/slurm-test.sh   # another sweep
#
# Exit 0: passed; 1: failed (the daemons' and jobs' logs are printed); 77: skipped (the reason is
# printed: not root, or slurmctld/slurmd/munged/sbatch missing). The last line is
#   slurm-test: passed|FAILED|skipped (...)
# Needs a built checkout (npm ci). Every wait has a timeout, so a stuck cluster fails, never hangs.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=(node "$ROOT/dist/sim/cli.js")
START_TIMEOUT=${START_TIMEOUT:-60}   # s, for the daemons to come up and the node to be idle
SWEEP_TIMEOUT=${SWEEP_TIMEOUT:-300}  # s, for the one-machine reference sweep
JOB_TIMEOUT=${JOB_TIMEOUT:-300}      # s, for the array job and the merge to finish

skip() { echo "slurm-test: skipped ($*)"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: slurmctld and slurmd must run as root"
for b in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$b" >/dev/null 2>&1 || skip "$b not found (apt-get install slurm-wlm munge)"
done
[ -f "$ROOT/dist/sim/cli.js" ] || { echo "slurm-test: FAILED (no dist/sim/cli.js: build first, npm ci)"; exit 1; }

T=$(mktemp -d /tmp/ctsim-slurm.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  local rc=$?
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then scancel --quiet --user=root >/dev/null 2>&1 || true; fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "slurm-test: kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "slurm-test: failure: $*"
  for f in "$T"/log/*.log "$T"/jobs/*.log; do
    [ -f "$f" ] || continue
    echo "----- $f (last 40 lines)"; tail -n 40 "$f"
  done
  [ -n "${SLURM_CONF:-}" ] && { squeue -a 2>&1 | head -20; sinfo 2>&1 | head; } || true
  echo "slurm-test: FAILED ($*)"
  exit 1
}
# wait_for SECONDS WHAT CMD...: polls CMD (every 0.5 s) until it succeeds, or fails the test
wait_for() {
  local t=$1 what=$2; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "timed out after ${t} s waiting for $what"
    sleep 0.5
  done
}

mkdir -p "$T"/{munge,log,state,spool,run,jobs,out,ref}
chmod 711 "$T/munge"

# --- munge: a generated key, its own socket ---
if command -v mungekey >/dev/null; then mungekey --create --keyfile="$T/munge/munge.key" || fail "mungekey"
else dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none; fi
chmod 400 "$T/munge/munge.key"
SOCK="$T/munge/munge.socket"
munged --key-file="$T/munge/munge.key" --socket="$SOCK" --pid-file="$T/run/munged.pid" \
  --log-file="$T/log/munged.log" --seed-file="$T/munge/seed" --foreground >>"$T/log/munged.log" 2>&1 &
PIDS+=($!)
wait_for 15 "munged" test -S "$SOCK"

# --- a one-node cluster: this host is the controller and the node ---
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
# two free ports for slurmctld and slurmd (another cluster, or another run of this test, may hold some)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for p in ${SLURM_PORT:-} 16817 17817 18817 19817 20817 21817 22817 23817; do
  if port_free "$p" && port_free $((p + 1)); then PORT=$p; break; fi
done
[ -n "$PORT" ] || fail "no two free ports for slurmctld and slurmd"
export SLURM_CONF="$T/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=ctsim-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerParameters=sched_interval=2
MinJobAge=600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=ctsim Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
slurmctld -D -i -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N "$HOST" -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
PIDS+=($!)
node_idle() { [ "$(sinfo -h -N -n "$HOST" -o %t 2>/dev/null)" = idle ]; }
wait_for "$START_TIMEOUT" "the node to be idle (slurmctld + slurmd)" node_idle
echo "slurm-test: one-node cluster up ($HOST, $CPUS CPUs, slurm $(sinfo --version | awk '{ print $2 }'))"

# --- the sweep: a small one unless SWEEP is given ---
if [ -n "${SWEEP:-}" ]; then SWEEP_FILE=$(realpath "$SWEEP")
else
  SWEEP_FILE="$T/ci-small.yaml"
  cat >"$SWEEP_FILE" <<EOF
name: ci-small
description: a small sweep for the Slurm end-to-end test
scenarios:
  - $ROOT/scenarios/syn-flood-vs-web.yaml
policies: [kernel, l4-aware, soft-timeout]
parameters:
  sysctl.nf_conntrack_max: [16384, 65536]
seeds: { from: 1, count: 3 }
runs: 1
set:
  duration: 60s
EOF
fi
SHARDS=${SHARDS:-2}   # two array tasks of one CPU: on a 2-CPU node, both run at once

# the one-machine reference: one worker, with the results store as the array tasks have it
# (timed, for the comparison)
t0=$(date +%s.%N)
timeout -k 5 "$SWEEP_TIMEOUT" "${CLI[@]}" sweep "$SWEEP_FILE" --workers 1 --out "$T/ref" --quiet >"$T/log/reference.log" 2>&1 \
  || fail "the reference sweep (ctsim sweep --workers 1; exit $?)"
t1=$(date +%s.%N)

# --- submit with docs/slurm-sweep.sh: SHARDS array tasks of one CPU each, plus the merge ---
cd "$T/jobs"
t2=$(date +%s.%N)
CPUS_PER_TASK=1 OUT="$T/out" bash "$ROOT/docs/slurm-sweep.sh" "$SWEEP_FILE" "$SHARDS" >"$T/log/submit.log" 2>&1 || { cat "$T/log/submit.log"; fail "docs/slurm-sweep.sh (submission)"; }
cat "$T/log/submit.log"
merge_id=$(tail -n 1 "$T/log/submit.log")
[[ "$merge_id" =~ ^[0-9]+$ ]] || fail "no merge job id in the submission's output"
array_id=$(squeue -h -o '%i %j' | awk '$2 == "ctsim-sweep" { sub(/_.*/, "", $1); print $1; exit }')
# done when the controller no longer lists any of the jobs (MinJobAge keeps them in scontrol)
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' '; }
merge_finished() { job_state "$merge_id" | grep -qE 'COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY'; }
array_running() { [ -n "$(squeue -h -j "$array_id" -t RUNNING -o %i 2>/dev/null)" ]; }
max_running=0
end=$((SECONDS + JOB_TIMEOUT))
until merge_finished; do
  [ $SECONDS -lt $end ] || fail "timed out after ${JOB_TIMEOUT} s waiting for the array job and the merge"
  if [ -n "$array_id" ]; then
    n=$(squeue -h -j "$array_id" -t RUNNING -o %i 2>/dev/null | wc -l)
    [ "$n" -gt "$max_running" ] && max_running=$n
    if job_state "$array_id" | grep -qE 'FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY'; then fail "an array task failed: $(job_state "$array_id")"; fi
  fi
  sleep 0.5
done
t3=$(date +%s.%N)
[ "$(job_state "$merge_id")" = "JobState=COMPLETED " ] || fail "the merge job ended $(job_state "$merge_id")"
[ -z "$array_id" ] || [ "$(job_state "$array_id")" = "JobState=COMPLETED " ] || fail "the array job ended $(job_state "$array_id")"

# --- the check: the merged sweep equals the one-machine sweep, byte for byte ---
name=$(basename "$(dirname "$(ls -d "$T"/ref/*/sweep)")")
[ -d "$T/out/$name/sweep" ] || fail "no merged output $T/out/$name/sweep"
shards=$(ls -d "$T/out/$name"/sweep-shard-*-of-"$SHARDS" 2>/dev/null | wc -l)
[ "$shards" = "$SHARDS" ] || fail "$shards shard directories, expected $SHARDS"
for f in cases.jsonl cases.csv sweep.json; do
  cmp "$T/ref/$name/sweep/$f" "$T/out/$name/sweep/$f" || fail "$f differs between the Slurm merge and the one-machine sweep"
done
cases=$(wc -l <"$T/out/$name/sweep/cases.jsonl")
ser=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
arr=$(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.1f", b - a }')
echo "slurm-test: $name, $cases cases: one worker ${ser} s; $SHARDS array tasks + merge ${arr} s (submission to merge done; at most $max_running tasks ran at once); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "slurm-test: passed (merged output byte-identical to the one-machine sweep: cases.jsonl, cases.csv, sweep.json)"
