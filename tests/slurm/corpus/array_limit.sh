#!/bin/bash
#SBATCH --job-name=sweep
#SBATCH --array=0-9%3
#SBATCH --output=sweep/%A_%a.out
#SBATCH --time=10
# A hyperparameter sweep, three at a time: each task takes its value by its index. Its output
# directory, sweep/, is made before it is submitted (neither Slurm nor gwang makes it).
set -eu
lrs=(0.1 0.05 0.02 0.01 0.005 0.002 0.001 0.0005 0.0002 0.0001)
[ "$SLURM_ARRAY_TASK_COUNT" = 10 ] && [ "$SLURM_ARRAY_TASK_MIN" = 0 ] && [ "$SLURM_ARRAY_TASK_MAX" = 9 ] || exit 1
[ "$SLURM_ARRAY_JOB_ID" -le "$SLURM_JOB_ID" ] || exit 1
echo "task $SLURM_ARRAY_TASK_ID lr ${lrs[$SLURM_ARRAY_TASK_ID]}"
running=$(squeue -h -t R -r -j "$SLURM_ARRAY_JOB_ID" | wc -l)
[ "$running" -le 3 ] || { echo "$running tasks running at once"; exit 1; }
sleep 1
echo "corpus ok: array_limit $SLURM_ARRAY_TASK_ID"
