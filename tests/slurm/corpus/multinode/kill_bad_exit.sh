#!/bin/bash
#SBATCH -J kill_bad_exit
#SBATCH -N 2
#SBATCH --ntasks-per-node=1
#SBATCH -t 5
# A worker on the second node fails: with -K the step ends at once (the first node's worker is
# ended, not waited for), srun exits non-zero, and the job goes on to its next step.
start=$(date +%s)
srun -K1 bash -c 'if [ "$SLURM_NODEID" = 1 ]; then exit 4; fi; sleep 120' 2> "kill-$SLURM_JOB_ID.err"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] && [ $took -lt 60 ] || { echo "exit $rc after ${took}s"; cat "kill-$SLURM_JOB_ID.err"; exit 1; }
grep -q ": task 1: Exited with exit code 4" "kill-$SLURM_JOB_ID.err" || { cat "kill-$SLURM_JOB_ID.err"; exit 1; }
[ "$(srun -n 2 true && echo fine)" = fine ] || exit 1
rm -f "kill-$SLURM_JOB_ID.err"
echo "corpus ok: kill_bad_exit"
