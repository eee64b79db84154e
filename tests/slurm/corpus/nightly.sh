#!/bin/sh
#SBATCH --job-name=nightly
#SBATCH --dependency=singleton
#SBATCH --time=5
# A singleton: one job of this user and name at a time.
others=$(squeue -h -t R -n nightly -u "$SLURM_JOB_USER" | wc -l)
[ "$others" = 1 ] || { echo "$others nightly jobs running"; exit 1; }
sleep 1
echo "corpus ok: nightly $SLURM_JOB_ID"
