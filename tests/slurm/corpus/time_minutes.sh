#!/bin/sh
#SBATCH -t 5
#SBATCH -o time_minutes-%j.out
# One of sbatch's time formats: the limit the job got, as scontrol shows it.
limit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^TimeLimit=//p')
[ "$limit" = "00:05:00" ] || { echo "TimeLimit=$limit, not 00:05:00"; exit 1; }
echo "corpus ok: time_minutes"
