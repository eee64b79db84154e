#!/usr/bin/env python3
"""Keystroke echo through a terminal program (srun --pty, gwang attach), as a user feels it.

    bench/pty_echo.py N COMMAND...

Runs COMMAND (which must end up in `cat` on a remote terminal) on a pseudo-terminal of this
program's, types N single characters 10 ms apart, and times each from its write to its echo
coming back (the remote terminal's line discipline echoes it; the relay carries it both ways).
Prints `keystrokes`, `echo_ms_p50`, `echo_ms_p99`, `echo_ms_max` and `lost` (no echo in 2 s).
"""
import os
import pty
import select
import sys
import time


def read_until(fd, needle, limit):
    seen = b""
    deadline = time.perf_counter() + limit
    while needle not in seen:
        left = deadline - time.perf_counter()
        if left <= 0:
            return seen, False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return seen, False
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return seen, False
        if not chunk:
            return seen, False
        seen += chunk
    return seen, True


def main():
    n = int(sys.argv[1])
    command = sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    # Ready once the remote cat echoes a line typed into it.
    ready = False
    for _ in range(100):
        os.write(fd, b"ready\r")
        _, ready = read_until(fd, b"ready\r\nready", 0.2)
        if ready:
            break
    if not ready:
        print("error: the remote terminal never answered", file=sys.stderr)
        return 1
    time.sleep(0.2)
    read_until(fd, b"\x00", 0.2)  # drain
    latencies, lost = [], 0
    letters = b"abcdefghijklmnopqrstuvwxyz"
    for i in range(n):
        key = letters[i % 26:i % 26 + 1]
        start = time.perf_counter()
        os.write(fd, key)
        _, came = read_until(fd, key, 2.0)
        if came:
            latencies.append((time.perf_counter() - start) * 1000)
        else:
            lost += 1
        time.sleep(0.01)
    os.write(fd, b"\r\x04")
    read_until(fd, b"\x00", 2.0)
    os.waitpid(pid, 0)
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, max(0, int(q * len(latencies) + 0.5) - 1))]

    print(f"keystrokes: {len(latencies)}")
    print(f"echo_ms_p50: {pct(0.5):.2f}")
    print(f"echo_ms_p99: {pct(0.99):.2f}")
    print(f"echo_ms_max: {latencies[-1]:.2f}")
    print(f"lost: {lost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
