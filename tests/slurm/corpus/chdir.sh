#!/bin/sh
#SBATCH -D rundir
#SBATCH -o chdir-%j.out
#SBATCH -J chdir
#SBATCH -t 5
# Runs in the directory -D names (relative to the submission directory), its output there too.
[ "$(pwd)" = "$SLURM_SUBMIT_DIR/rundir" ] || { echo "in $(pwd)"; exit 1; }
[ -f "chdir-$SLURM_JOB_ID.out" ] || exit 1
echo "corpus ok: chdir"
