#!/bin/bash
#SBATCH -J signal_batch
#SBATCH -t 2
#SBATCH --signal=B:USR1@118
# sbatch --signal=B:...: the batch shell alone gets SIGUSR1 once the job is 118 s from its time
# limit (Slurm may send it up to a minute early; gwang at that moment), and the job goes on.
got=0
trap 'got=1' USR1
sleep 110 &
wait $!
[ $got = 1 ] || { echo "no USR1 before the time limit"; exit 1; }
kill $! 2>/dev/null
echo "corpus ok: signal_batch"
