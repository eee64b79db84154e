#!/bin/sh
#SBATCH --export=ALL,LEARNING_RATE=0.01
#SBATCH -J export-vars
#SBATCH -t 5
# The submitter's environment, and a value set for the job.
[ "$LEARNING_RATE" = 0.01 ] || exit 1
[ "$CORPUS_SECRET" = s3cret ] || { echo "CORPUS_SECRET=${CORPUS_SECRET:-unset}"; exit 1; }
echo "corpus ok: export_vars"
