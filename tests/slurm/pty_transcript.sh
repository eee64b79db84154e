#!/usr/bin/env bash
# A session of `srun --pty sh` in a running job, typed into a terminal (tmux, 90x30) as a user
# would: its size, a resize to 100x40, a Ctrl-C on a sleep, then `exit 3`. Prints what the
# terminal showed (its blank lines dropped) and srun's exit status. compare.sh runs it under
# Slurm's commands and gwang's (whichever `sbatch` and `srun` come first in PATH).
#
#   tests/slurm/pty_transcript.sh
set -u
sock="gwpty-$$"
t() { tmux -L "$sock" "$@"; }
id=$(sbatch --parsable -t 5 --mem=64M -o /dev/null --wrap 'sleep 120') || exit 1
for _ in $(seq 200); do [ "$(squeue -h -j "$id" -o %T)" = RUNNING ] && break; sleep 0.1; done
rc=$(mktemp)
t -f /dev/null new-session -d -x 90 -y 30 \
  "PS1='$ ' srun --jobid=$id --overlap --pty env PS1='\$ ' sh; echo \$? >$rc; sleep 30"
step() { t send-keys "$@"; sleep 1; }
sleep 2
step 'stty size' Enter
t resize-window -x 100 -y 40
sleep 1
step 'stty size' Enter
step 'sleep 30' Enter
step C-c
step 'echo back-$((6*7))' Enter
step 'exit 3' Enter
sleep 1
t capture-pane -p | sed -e '/^[[:space:]]*$/d'
echo "srun exited $(cat "$rc")"
t kill-server 2>/dev/null
scancel "$id"
rm -f "$rc"
