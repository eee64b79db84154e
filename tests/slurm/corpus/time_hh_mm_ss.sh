#!/bin/sh
#SBATCH --time=01:00:00
#SBATCH -o time_hh_mm_ss-%j.out
# One of sbatch's time formats: the limit the job got, as scontrol shows it.
limit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^TimeLimit=//p')
[ "$limit" = "01:00:00" ] || { echo "TimeLimit=$limit, not 01:00:00"; exit 1; }
echo "corpus ok: time_hh_mm_ss"
