#!/bin/bash
#SBATCH --job-name=train-2npu
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=2
#SBATCH --gres=npu:test:2
#SBATCH --time=0-00:20
# Two tasks on one node and two accelerators: the job holds both.
set -eu
[ "$SLURM_NTASKS" = 2 ] || { echo "SLURM_NTASKS=$SLURM_NTASKS"; exit 1; }
[ "$SLURM_NTASKS_PER_NODE" = 2 ] || exit 1
[ "$SLURM_GPUS_ON_NODE" = 2 ] || { echo "SLURM_GPUS_ON_NODE=$SLURM_GPUS_ON_NODE"; exit 1; }
[ "$(echo "$GWANG_DEVICES" | tr ',' '\n' | grep -c .)" = 2 ] || exit 1
echo "corpus ok: train_two_npus"
