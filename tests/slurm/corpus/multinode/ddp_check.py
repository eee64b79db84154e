#!/usr/bin/env python3
"""One rank of a data-parallel job: checks its place in the step, then meets the others at
MASTER_ADDR:MASTER_PORT (rank 0 listens) and sums their ranks, as an all-reduce would."""
import os
import socket
import sys
import time

rank = int(os.environ["SLURM_PROCID"])
world = int(os.environ["SLURM_NTASKS"])
local = int(os.environ["SLURM_LOCALID"])
node = int(os.environ["SLURM_NODEID"])
per_node = int(os.environ["SLURM_TASKS_PER_NODE"].split("(")[0])
if world != 4 or per_node != 2 or node != rank // 2 or local != rank % 2:
    sys.exit("rank %d: world %d, %d per node, node %d, local %d" % (rank, world, per_node, node, local))
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
if rank == 0:
    server = socket.create_server(("", port))
    server.settimeout(60)
    total = 0
    peers = []
    for _ in range(world - 1):
        conn, _ = server.accept()
        total += int(conn.recv(16).decode())
        peers.append(conn)
    for conn in peers:
        conn.sendall(str(total).encode())
        conn.close()
else:
    deadline = time.time() + 60
    while True:
        try:
            conn = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("rank %d: no rendezvous at %s:%d" % (rank, addr, port))
            time.sleep(0.2)
    conn.sendall(str(rank).encode())
    total = int(conn.recv(16).decode())
    conn.close()
if total != sum(range(world)):
    sys.exit("rank %d: sum %d" % (rank, total))
print("rank %d of %d on node %d: sum %d" % (rank, world, node, total), flush=True)
