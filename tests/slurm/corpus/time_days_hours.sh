#!/bin/sh
#SBATCH --time=1-0
#SBATCH -o time_days_hours-%j.out
# One of sbatch's time formats: the limit the job got, as scontrol shows it.
limit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^TimeLimit=//p')
[ "$limit" = "1-00:00:00" ] || { echo "TimeLimit=$limit, not 1-00:00:00"; exit 1; }
echo "corpus ok: time_days_hours"
