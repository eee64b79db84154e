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
# Open MPI's ranks started by srun itself, each node's PMIx server serving them (--mpi=pmix), over
# TCP on eth0 (these hosts share one kernel's /dev/shm and host name, where shared memory segments
# of two hosts' ranks would collide); then two ranks on one node, over shared memory.
OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=eth0 srun --mpi=pmix ./allreduce.openmpi
echo "pmix rc=$?"
srun -N 1 -n 2 --mpi=pmix ./allreduce.openmpi | sed 's/^/one node: /'
echo "one node rc=${PIPESTATUS[0]}"
# A rank that aborts (MPI_Abort) ends the step: the others, waiting for it, are ended too.
OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=eth0 srun --mpi=pmix ./allreduce.openmpi abort 2>&1 | grep -o 'a task aborted the step (exit code 3)'
echo "abort rc=${PIPESTATUS[0]}"
