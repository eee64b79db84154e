#!/bin/bash
#SBATCH -J signal_nodes
#SBATCH -N 2
#SBATCH -t 2
#SBATCH --signal=USR1@118
# sbatch --signal on two nodes: every task of the step gets SIGUSR1 once the job is 118 s from its
# time limit, on either node, and the job goes on.
srun -N 2 -n 2 bash -c 'trap "echo got-USR1-\$SLURM_PROCID; exit 0" USR1; sleep 110 & wait $!; exit 1' >"signal_nodes-$SLURM_JOB_ID.txt"
rc=$?
got=$(sort "signal_nodes-$SLURM_JOB_ID.txt" | tr '\n' ' ')
[ $rc = 0 ] && [ "$got" = "got-USR1-0 got-USR1-1 " ] || { echo "srun exited $rc: $got"; exit 1; }
rm -f "signal_nodes-$SLURM_JOB_ID.txt"
echo "corpus ok: signal_nodes"
