#!/bin/bash
#SBATCH -J chain-eval
#SBATCH -t 5
# The third stage (afterok:TRAIN).
set -eu
[ "$(cat chain/model.txt)" = 5050 ] || { echo "no model"; exit 1; }
echo "corpus ok: chain_evaluate"
