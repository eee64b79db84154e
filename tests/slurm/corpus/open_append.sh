#!/bin/sh
#SBATCH -o appended.out
#SBATCH --open-mode=append
#SBATCH -J append
#SBATCH -t 5
# Appends to its output file instead of truncating it.
grep -q "written before" appended.out || { echo "the file was truncated"; exit 1; }
echo "corpus ok: open_append"
