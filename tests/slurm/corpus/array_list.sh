#!/bin/sh
#SBATCH --array=1,3,7
#SBATCH --job-name=listed
# An array of listed indices; output under the default name slurm-%A_%a.out.
case "$SLURM_ARRAY_TASK_ID" in 1|3|7) ;; *) exit 1 ;; esac
[ -f "slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out" ] || { echo "no default output file"; exit 1; }
echo "corpus ok: array_list $SLURM_ARRAY_TASK_ID"
