#!/bin/bash
#SBATCH -J chain-train
#SBATCH -t 5
# The second stage, submitted with --dependency=afterok:PREPARE: its input is there.
set -eu
[ -s chain/data.txt ] || { echo "the first stage has not run"; exit 1; }
awk '{ s += $1 } END { print s }' chain/data.txt > chain/model.txt
echo "corpus ok: chain_train"
