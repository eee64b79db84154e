#!/bin/bash
#SBATCH -J ddp-torch
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -t 5
# Gloo picks its network by interface; each host's is eth0 here, as a cluster's site settings say.
export GLOO_SOCKET_IFNAME=eth0
srun python3 ddp_torch.py
