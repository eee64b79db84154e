#!/bin/sh
#SBATCH -o streams-%x.out
#SBATCH -e streams-%x.err
#SBATCH -J streams
#SBATCH -t 5
# Output and errors in files of their own.
echo "to stderr" >&2
grep -q "to stderr" streams-streams.err || exit 1
echo "corpus ok: split_streams"
