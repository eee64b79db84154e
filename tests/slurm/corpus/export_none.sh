#!/bin/sh
#SBATCH --export=NONE
#SBATCH -J export-none
#SBATCH -t 5
# Nothing of the submitter's environment comes along; Slurm's own variables do.
[ -z "${CORPUS_SECRET:-}" ] || { echo "CORPUS_SECRET came along"; exit 1; }
[ -n "$SLURM_JOB_ID" ] && [ -n "$SLURM_SUBMIT_DIR" ] || exit 1
echo "corpus ok: export_none"
