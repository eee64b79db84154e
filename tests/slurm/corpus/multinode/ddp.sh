#!/bin/bash
#SBATCH -J ddp
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -t 10:00
#SBATCH -o ddp-%j.out
# Data-parallel training on two nodes, launched as PyTorch's Slurm recipes do: one process per
# task, rank from SLURM_PROCID, the first node as the rendezvous. ddp_check.py meets its peers
# over TCP as torch.distributed's env:// rendezvous would.
MASTER_ADDR=${MASTER_ADDR:-$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)}
export MASTER_ADDR
export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))
[ "$SLURM_NTASKS" = 4 ] || { echo "SLURM_NTASKS=$SLURM_NTASKS"; exit 1; }
srun python3 ddp_check.py || exit 1
echo "corpus ok: ddp"
