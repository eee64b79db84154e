#!/usr/bin/env bash
# A terminal session typed into tmux (90x30) as a user would: its size, a resize to 100x40, a
# Ctrl-C on a sleep, then `exit 3`. Prints what the terminal showed (its blank lines dropped, job
# ids as N) and the command's exit status. compare.sh runs it under Slurm's commands and gwang's
# (whichever `sbatch`, `srun` and `salloc` come first in PATH). The mode says what is typed into:
#
#   tests/slurm/pty_transcript.sh inside    # srun --pty sh in a running job (--jobid, --overlap)
#   tests/slurm/pty_transcript.sh outside   # srun --pty sh outside a job: an allocation of its own
#   tests/slurm/pty_transcript.sh salloc    # salloc's shell here, and a step run from it
#
# Slurm's salloc may say "Job allocation N has been revoked." after it relinquished the allocation
# itself (its controller's word racing its exit); that line is dropped.
set -u
mode=${1:-inside}
sock="gwpty-$$"
t() { tmux -L "$sock" "$@"; }
rc=$(mktemp)
id=
case $mode in
  inside)
    id=$(sbatch --parsable -t 5 --mem=64M -o /dev/null --wrap 'sleep 120') || exit 1
    for _ in $(seq 200); do [ "$(squeue -h -j "$id" -o %T)" = RUNNING ] && break; sleep 0.1; done
    run="srun --jobid=$id --overlap --pty env PS1='\$ ' sh" ;;
  outside) run="srun -t 5 --mem=64M --pty env PS1='\$ ' sh" ;;
  salloc) run="salloc -t 5 --mem=64M env PS1='\$ ' sh" ;;
  *) echo "usage: $0 inside|outside|salloc" >&2; exit 2 ;;
esac
t -f /dev/null new-session -d -x 90 -y 30 "PS1='$ ' $run; echo \$? >$rc; sleep 30"
step() { t send-keys "$@"; sleep 1; }
sleep 2
step 'stty size' Enter
t resize-window -x 100 -y 40
sleep 1
step 'stty size' Enter
[ "$mode" = salloc ] && step 'srun -n1 sh -c "echo step-\$((6*7))"' Enter
step 'sleep 30' Enter
step C-c
step 'echo back-$((6*7))' Enter
step 'exit 3' Enter
sleep 1
t capture-pane -p | sed -e '/^[[:space:]]*$/d' -e '/has been revoked\.$/d' -e 's/allocation [0-9][0-9]*/allocation N/'
echo "exited $(cat "$rc")"
t kill-server 2>/dev/null
[ -n "$id" ] && scancel "$id"
rm -f "$rc"
