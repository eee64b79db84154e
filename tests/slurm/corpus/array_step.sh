#!/bin/sh
#SBATCH -a 0-20:5
#SBATCH -J stepped
#SBATCH -o stepped-%a.out
# An array with a step: indices 0, 5, 10, 15, 20.
case "$SLURM_ARRAY_TASK_ID" in 0|5|10|15|20) ;; *) echo "index $SLURM_ARRAY_TASK_ID"; exit 1 ;; esac
[ "$SLURM_ARRAY_TASK_STEP" = 5 ] && [ "$SLURM_ARRAY_TASK_COUNT" = 5 ] || exit 1
echo "corpus ok: array_step $SLURM_ARRAY_TASK_ID"
