#!/bin/sh
#SBATCH --time=UNLIMITED
#SBATCH -o time_unlimited-%j.out
# One of sbatch's time formats: the limit the job got, as scontrol shows it.
limit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^TimeLimit=//p')
[ "$limit" = "UNLIMITED" ] || { echo "TimeLimit=$limit, not UNLIMITED"; exit 1; }
echo "corpus ok: time_unlimited"
