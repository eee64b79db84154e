#!/usr/bin/env python3
"""A Toil workflow for its Slurm batch system (--batchSystem slurm): a root job starts three
children that square their numbers, and a follow-on sums them. Toil submits each job with sbatch,
follows it with squeue and sacct, and reads `scontrol show config`."""
import os

from toil.common import Toil
from toil.job import Job


def square(job, n):
    return n * n, os.environ.get("SLURM_JOB_ID", "none")


def total(job, results):
    return sum(r[0] for r in results), sorted({r[1] for r in results})


def root(job):
    squares = [job.addChildJobFn(square, n, cores=1, memory="64M", disk="1M").rv() for n in (1, 2, 3)]
    return job.addFollowOnJobFn(total, squares, cores=1, memory="64M", disk="1M").rv()


if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args()
    with Toil(options) as workflow:
        result, jobs = workflow.start(Job.wrapJobFn(root, cores=1, memory="64M", disk="1M"))
    print("toil total %d from %d slurm job(s)" % (result, len(jobs)))
