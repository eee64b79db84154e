#!/bin/bash
#SBATCH -J srun_failure
#SBATCH -n 2
#SBATCH -t 5
# A task that fails: srun says which and exits with its code, and the script goes on.
srun bash -c 'exit $((SLURM_PROCID * 3))' 2> "failure-$SLURM_JOB_ID.err"
rc=$?
[ $rc -eq 3 ] || { echo "srun exited $rc"; exit 1; }
grep -q ": task 1: Exited with exit code 3" "failure-$SLURM_JOB_ID.err" || { cat "failure-$SLURM_JOB_ID.err"; exit 1; }
# --kill-on-bad-exit: the other task is ended, not waited for.
start=$(date +%s)
srun -K bash -c 'if [ "$SLURM_PROCID" = 0 ]; then exit 2; fi; sleep 120' 2>/dev/null
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] && [ $took -lt 60 ] || { echo "--kill-on-bad-exit: exit $rc after ${took}s"; exit 1; }
rm -f "failure-$SLURM_JOB_ID.err"
echo "corpus ok: srun_failure"
