#!/bin/sh
#SBATCH -J on-failure
#SBATCH -t 5
# Cleanup that runs only when the job it follows failed (--dependency=afternotok:FAILS).
state=$(sacct -n -X -P -j "$1" -o State)
[ "$state" = FAILED ] || { echo "ran after a job that is $state"; exit 1; }
echo "corpus ok: on_failure"
