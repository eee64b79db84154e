#!/bin/sh
#SBATCH --time=0-02:30
#SBATCH -o time_days_hh_mm-%j.out
# One of sbatch's time formats: the limit the job got, as scontrol shows it.
limit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^TimeLimit=//p')
[ "$limit" = "02:30:00" ] || { echo "TimeLimit=$limit, not 02:30:00"; exit 1; }
echo "corpus ok: time_days_hh_mm"
