#!/bin/bash
#SBATCH -J scancel_signal
#SBATCH -t 5
# scancel --signal from inside the job: to one step (the job goes on), then to the batch step.
out="scancel_signal-$SLURM_JOB_ID.out"
srun bash -c 'trap "echo step-got-USR2; exit 0" USR2; echo started; sleep 110 & wait $!; echo "no USR2"; exit 1' >"$out" &
for i in $(seq 150); do grep -q started "$out" 2>/dev/null && break; sleep 0.2; done
# (Slurm's scancel may say the step is gone when it ended at once on the signal: only its effect
# is checked.)
scancel -s USR2 "$SLURM_JOB_ID.0" 2>/dev/null
wait $!
rc=$?
grep -q "^step-got-USR2$" "$out" && [ $rc = 0 ] || { echo "srun exited $rc:"; cat "$out"; exit 1; }
got=0
trap 'got=1' USR1
# scancel runs in the batch step too: it ignores the signal, as what the shell ignores stays ignored.
(trap '' USR1; exec scancel --batch --signal=USR1 "$SLURM_JOB_ID") || { echo "scancel -b -s USR1 failed"; exit 1; }
for i in $(seq 50); do [ $got = 1 ] && break; sleep 0.2; done
[ $got = 1 ] || { echo "the batch shell did not get USR1"; exit 1; }
rm -f "$out"
echo "corpus ok: scancel_signal"
