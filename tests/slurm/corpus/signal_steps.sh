#!/bin/bash
#SBATCH -J signal_steps
#SBATCH -t 2
#SBATCH --signal=USR1@118
# sbatch --signal without B:: the job's steps get the signal, not the batch shell.
trap 'echo "the batch shell got USR1"; exit 1' USR1
srun bash -c 'trap "echo step-got-USR1; exit 0" USR1; sleep 110 & wait $!; echo "no USR1"; exit 1' >"signal_steps-$SLURM_JOB_ID.out"
rc=$?
grep -q "^step-got-USR1$" "signal_steps-$SLURM_JOB_ID.out" && [ $rc = 0 ] || { echo "srun exited $rc:"; cat "signal_steps-$SLURM_JOB_ID.out"; exit 1; }
rm -f "signal_steps-$SLURM_JOB_ID.out"
echo "corpus ok: signal_steps"
