#!/bin/sh
#SBATCH --begin=now+2
#SBATCH -J later
#SBATCH -t 5
# Not before two seconds after its submission.
submit=$(scontrol show job "$SLURM_JOB_ID" | tr ' ' '\n' | sed -n 's/^SubmitTime=//p')
now=$(date +%s)
[ $((now - $(date -d "$submit" +%s))) -ge 2 ] || { echo "started too soon"; exit 1; }
echo "corpus ok: begin_later"
