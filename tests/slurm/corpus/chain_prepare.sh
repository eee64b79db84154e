#!/bin/bash
#SBATCH -J chain-prepare
#SBATCH -t 5
# The first stage of a pipeline: makes the data the next stages read.
set -eu
mkdir -p chain
seq 1 100 > chain/data.txt
echo "corpus ok: chain_prepare"
