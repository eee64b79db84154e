#!/usr/bin/env bash
# The launch of an MPI job through srun, gwang and Slurm 22.05 side by side on this machine, in one
# run (as root):
#
#   bench/mpi_launch.sh        # RUNS (10): launches timed on each side
#
# The clusters are tests/slurm/clusters.sh's two-node ones: a Slurm of nodes n1 and n2 (two slurmd
# on this host) and a gwang controller with two agents of those names. On each, one batch job of
# two nodes (-N 2 -n 8 -O: 8 ranks, four a node, on nodes of 2 CPUs) times RUNS launches of
# `srun --mpi=pmi2 ./hello`, an MPICH program whose 8 ranks each start (MPI_Init), meet in a
# barrier and end (MPI_Finalize), from srun's start to its end; as many of `srun --mpi=pmix
# ./hello.openmpi`, the same program built with Open MPI, each node's PMIx server serving its
# ranks (TCP between them: the two nodes share this host's name and /dev/shm); and as many of
# `srun hostname` (8 tasks, no MPI) for what a step costs without it. Prints the median, least
# and most of each, and Slurm's time over gwang's.
set -u
RUNS=${RUNS:-10}
. "$(dirname "$0")/../tests/slurm/clusters.sh"
start_clusters
start_two_node_clusters
W=$BASE/mpi_launch
mkdir -p "$W" && cd "$W" || exit 2
cat >hello.c <<'MPI'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char** argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("%d ranks\n", size);
  MPI_Finalize();
  return 0;
}
MPI
mpicc.mpich -o hello hello.c || die "mpicc.mpich failed"
mpicc.openmpi -o hello.openmpi hello.c || die "mpicc.openmpi failed"
cat >launch.sh <<JOB
#!/bin/bash
#SBATCH -N 2 -n 8 -O -t 20 -o launch.out
export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo
for what in mpi pmix plain; do
  for i in \$(seq $RUNS); do
    s=\$EPOCHREALTIME
    case \$what in
      mpi) out=\$(srun -O --mpi=pmi2 ./hello) ;;
      pmix) out=\$(srun -O --mpi=pmix ./hello.openmpi) ;;
      *) out="\$(srun -O hostname | wc -l) tasks" ;;
    esac
    e=\$EPOCHREALTIME
    echo "\$what \$(awk -v a=\$s -v b=\$e 'BEGIN{printf "%.3f", b-a}') \$out"
  done
done
JOB
run_side() { # name, environment, PATH of its commands: the job's launches, one line each
  rm -f launch.out
  env $2 PATH=$3:/usr/bin:/usr/sbin:/bin sbatch --wait launch.sh >/dev/null || note "$1: the job failed"
  sed "s/^/$1 /" launch.out
}
{
  run_side slurm "SLURM_CONF=$S2/etc/slurm.conf" /usr/bin
  run_side gwang "$GCTL" "$G"
} | tee "$W/results.txt"
summary() { # side, what: median, least, most
  awk -v side="$1" -v what="$2" '$1 == side && $2 == what {print $3}' "$W/results.txt" | sort -g |
    awk '{a[NR]=$1} END{if (NR == 0) {print "none"; exit} printf "%.3f %.3f %.3f", a[int((NR+1)/2)], a[1], a[NR]}'
}
printf '\n%-28s %-24s %-24s %s\n' "launch to end, s" "Slurm (median min max)" "gwang (median min max)" "Slurm/gwang"
for what in mpi pmix plain; do
  sl=$(summary slurm $what) gw=$(summary gwang $what)
  ratio=$(awk -v a="${sl%% *}" -v b="${gw%% *}" 'BEGIN{ if (b + 0 > 0) printf "%.2fx", a/b; else print "-"}')
  case $what in
    mpi) label="srun --mpi=pmi2, 8 ranks" ;;
    pmix) label="srun --mpi=pmix, 8 ranks" ;;
    *) label="srun hostname, 8 tasks" ;;
  esac
  printf '%-28s %-24s %-24s %s\n' "$label" "$sl" "$gw" "$ratio"
done
for side in gwang slurm; do
  for what in mpi pmix; do grep -q "^$side $what .* 8 ranks" "$W/results.txt" || exit 1; done
done
