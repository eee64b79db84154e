#!/bin/bash
#SBATCH --job-name=preprocess
#SBATCH --cpus-per-task=2
#SBATCH --mem=512M
#SBATCH --time=00:10:00
#SBATCH --output=preprocess-%j.out
# CPU-only preprocessing: shard a word list and count it, with the CPUs it was given.
set -euo pipefail
[ "$SLURM_CPUS_PER_TASK" = 2 ] || { echo "SLURM_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK"; exit 1; }
[ "$SLURM_JOB_NAME" = preprocess ] || exit 1
[ "$(pwd)" = "$SLURM_SUBMIT_DIR" ] || { echo "ran in $(pwd), not $SLURM_SUBMIT_DIR"; exit 1; }
mkdir -p "shards-$SLURM_JOB_ID"
seq 1 2000 | awk '{ print "word" ($1 % 97) }' > "shards-$SLURM_JOB_ID/all.txt"
split -n l/"$SLURM_CPUS_PER_TASK" "shards-$SLURM_JOB_ID/all.txt" "shards-$SLURM_JOB_ID/part-"
for part in "shards-$SLURM_JOB_ID"/part-*; do sort "$part" | uniq -c > "$part.counts" & done
wait
[ "$(cat "shards-$SLURM_JOB_ID"/part-*.counts | awk '{ n += $1 } END { print n }')" = 2000 ] || exit 1
echo "corpus ok: preprocess_cpu"
