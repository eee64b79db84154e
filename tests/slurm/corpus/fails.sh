#!/bin/sh
#SBATCH -J fails
#SBATCH -t 5
# A job that fails: exit code 3 (sacct: FAILED, 3:0).
echo "corpus ok: fails (about to fail)"
exit 3
