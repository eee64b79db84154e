#!/usr/bin/env python3
#SBATCH --job-name=pytrain
#SBATCH --time=5:00
#SBATCH --mem-per-cpu=256M
#SBATCH --cpus-per-task=2
#SBATCH --output=pytrain-%j.out
"""A Python batch script: sbatch reads #SBATCH lines in any language's comments."""
import os
import sys

if os.environ.get("SLURM_CPUS_PER_TASK") != "2":
    sys.exit("SLURM_CPUS_PER_TASK=%s" % os.environ.get("SLURM_CPUS_PER_TASK"))
if os.environ.get("SLURM_MEM_PER_CPU") != "256":
    sys.exit("SLURM_MEM_PER_CPU=%s" % os.environ.get("SLURM_MEM_PER_CPU"))
args = sys.argv[1:]
if args != ["--epochs", "2"]:
    sys.exit("arguments: %r" % args)
loss = 1.0
for epoch in range(2):
    loss *= 0.5
    print("epoch %d loss %.3f" % (epoch, loss), flush=True)
print("corpus ok: train.py")
