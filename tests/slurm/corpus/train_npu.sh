#!/bin/bash
#SBATCH -J train-npu
#SBATCH --gres=npu:test:1
#SBATCH -c 1 --mem=1G
#SBATCH -t 30
#SBATCH -o train-%x-%j.log
# Training on one accelerator: it sees exactly the device it was given.
set -eu
[ "$SLURM_GPUS_ON_NODE" = 1 ] || { echo "SLURM_GPUS_ON_NODE=${SLURM_GPUS_ON_NODE:-}"; exit 1; }
[ -n "$SLURM_JOB_GPUS" ] || exit 1
devices=$(echo "${GWANG_DEVICES:-}" | tr ',' '\n' | grep -c .)
[ "$devices" = 1 ] || { echo "devices: ${GWANG_DEVICES:-none}"; exit 1; }
for epoch in 1 2 3; do echo "epoch $epoch loss 0.$((9 - epoch))"; done
echo "corpus ok: train_npu"
