#!/usr/bin/env python3
"""One rank of PyTorch's data-parallel training as its Slurm recipes start it: rank and world from
srun's SLURM_PROCID and SLURM_NTASKS, the rendezvous at MASTER_ADDR:MASTER_PORT (env://), the
gloo backend. The ranks all-reduce their numbers plus one."""
import datetime
import os

import torch
import torch.distributed as dist

rank, world = int(os.environ["SLURM_PROCID"]), int(os.environ["SLURM_NTASKS"])
dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world,
                        timeout=datetime.timedelta(seconds=60))
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
print("rank %d of %d on %s: all_reduce %d" % (rank, world, os.environ["SLURMD_NODENAME"], int(value.item())),
      flush=True)
dist.destroy_process_group()
