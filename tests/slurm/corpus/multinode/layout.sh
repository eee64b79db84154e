#!/bin/bash
#SBATCH -J layout
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -t 5
# Where srun puts tasks on two nodes: in blocks by default, round-robin with -m cyclic, one a
# node, and on fewer nodes when asked (each line: task, node index, local index, its node).
place() { srun "$@" bash -c 'echo "$SLURM_PROCID $SLURM_NODEID $SLURM_LOCALID $SLURMD_NODENAME"' | sort -n; }
nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))
[ ${#nodes[@]} = 2 ] || { echo "nodes: ${nodes[*]}"; exit 1; }
a=${nodes[0]} b=${nodes[1]}
check() { [ "$1" = "$2" ] || { printf 'got:\n%s\nwanted:\n%s\n' "$1" "$2"; exit 1; }; }
check "$(place)" "$(printf '0 0 0 %s\n1 0 1 %s\n2 1 0 %s\n3 1 1 %s' $a $a $b $b)"
check "$(place -n 3)" "$(printf '0 0 0 %s\n1 0 1 %s\n2 1 0 %s' $a $a $b)"
check "$(place -m cyclic)" "$(printf '0 0 0 %s\n1 1 0 %s\n2 0 1 %s\n3 1 1 %s' $a $b $a $b)"
check "$(place -n 2 --ntasks-per-node=1)" "$(printf '0 0 0 %s\n1 1 0 %s' $a $b)"
check "$(place -N 1 -n 1)" "0 0 0 $a"
# Labelled output of a step on both nodes.
check "$(srun -l -n 2 --ntasks-per-node=1 printenv SLURMD_NODENAME | sort)" "$(printf '0: %s\n1: %s' $a $b)"
echo "corpus ok: layout"
