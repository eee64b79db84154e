/* Each rank says where it runs (its host's address on eth0: MPICH's launcher passes its own
   environment, SLURMD_NODENAME included, to every rank), then all-reduces the ranks' numbers.
   With the argument "abort", the last rank aborts the job (exit code 3) while the others wait in
   the all-reduce. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <mpi.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void address(char* out, size_t size) {
  struct ifaddrs* list = NULL;
  snprintf(out, size, "?");
  if (getifaddrs(&list) != 0) return;
  for (struct ifaddrs* a = list; a; a = a->ifa_next) {
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && strcmp(a->ifa_name, "eth0") == 0) {
      inet_ntop(AF_INET, &((struct sockaddr_in*)a->ifa_addr)->sin_addr, out, (socklen_t)size);
      break;
    }
  }
  freeifaddrs(list);
}

int main(int argc, char** argv) {
  int rank, size, sum = 0;
  char where[64];
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int mine = rank;
  if (argc > 1 && strcmp(argv[1], "abort") == 0 && rank == size - 1) MPI_Abort(MPI_COMM_WORLD, 3);
  MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  address(where, sizeof where);
  printf("rank %d of %d at %s: sum %d\n", rank, size, where, sum);
  MPI_Finalize();
  return 0;
}
