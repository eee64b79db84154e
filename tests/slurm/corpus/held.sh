#!/bin/sh
#SBATCH --hold
#SBATCH -J held
#SBATCH -t 5
# Submitted held; runs once released (scontrol release).
echo "corpus ok: held"
