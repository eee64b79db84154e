#!/bin/bash
#SBATCH -J mpirun
#SBATCH -N 2
#SBATCH --ntasks-per-node=2
#SBATCH -t 5
# Each MPI's own launcher inside the allocation: it starts its daemons on the job's nodes through
# srun (Open MPI's orted, MPICH's hydra_pmi_proxy). Their traffic goes over eth0, each host's.
mpirun.openmpi --mca btl self,tcp --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0 -n 4 ./allreduce.openmpi
echo "openmpi rc=$?"
mpiexec.mpich -iface eth0 -n 4 ./allreduce.mpich
echo "mpich rc=$?"
# MPICH's ranks started by srun itself, which serves them as their process manager (PMI).
srun --mpi=pmi2 ./allreduce.mpich
echo "srun rc=$?"
