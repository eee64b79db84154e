#!/bin/sh
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH -J tasks
#SBATCH -t 5
# Two tasks on one node: the batch script is task 0 of them.
[ "$SLURM_NTASKS" = 2 ] && [ "$SLURM_NPROCS" = 2 ] || { echo "SLURM_NTASKS=$SLURM_NTASKS"; exit 1; }
[ "$SLURM_PROCID" = 0 ] && [ "$SLURM_LOCALID" = 0 ] && [ "$SLURM_NODEID" = 0 ] || exit 1
[ "$SLURM_CPUS_ON_NODE" = 2 ] && [ "$SLURM_JOB_NUM_NODES" = 1 ] || exit 1
[ "$SLURM_JOB_NODELIST" = "$(hostname -s)" ] || [ "$SLURM_JOB_NODELIST" = "$(hostname)" ] || exit 1
echo "corpus ok: tasks_per_node"
