#!/bin/bash
#SBATCH -J srun_tasks
#SBATCH -n 2
#SBATCH -t 5
# srun in a batch script: a step of two tasks, each knowing its place in it; the script's
# exports reach them; each srun is the next step.
out=$(srun bash -c 'echo "$SLURM_PROCID $SLURM_LOCALID $SLURM_NTASKS $SLURM_STEP_ID $SLURM_NODEID $SLURM_JOB_ID"' | sort)
want=$(printf '0 0 2 0 0 %s\n1 1 2 0 0 %s' "$SLURM_JOB_ID" "$SLURM_JOB_ID")
[ "$out" = "$want" ] || { echo "tasks: $out"; exit 1; }
one=$(srun -n1 -l echo hello)
[ "$one" = "0: hello" ] || { echo "label: $one"; exit 1; }
export CORPUS_STAGE=tasks
seen=$(srun -n1 bash -c 'echo "$CORPUS_STAGE $SLURM_STEP_ID $SLURM_STEP_NUM_TASKS"')
[ "$seen" = "tasks 2 1" ] || { echo "export: $seen"; exit 1; }
# A task that needs both CPUs: one of them fits, not two.
[ "$(srun -n1 -c2 printenv SLURM_CPUS_PER_TASK)" = 2 ] || exit 1
if srun -n2 -c2 true 2>/dev/null; then echo "two tasks of 2 CPUs ran on 2 CPUs"; exit 1; fi
echo "corpus ok: srun_tasks"
