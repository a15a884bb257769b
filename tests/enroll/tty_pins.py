#!/usr/bin/python3
"""Runs a command on a pseudo-terminal of its own (as its controlling terminal) and types the lines
read from our standard input, one after each prompt (output ending in ": "), as a person would.
Prints the terminal's whole transcript (what the person saw) and exits with the command's status.

Usage: printf '%s\\n' PIN1 PIN2 | tty_pins.py COMMAND [ARGS...]
"""
import os
import pty
import select
import sys

answers = sys.stdin.read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
transcript = b""
pending = b""
while True:
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        sys.stdout.write(transcript.decode(errors="replace") + "\n[tty_pins: no output for 30 s]\n")
        os.kill(pid, 9)
        sys.exit(124)
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    transcript += chunk
    pending += chunk
    if pending.rstrip(b" ").endswith(b":") and pending.endswith(b": ") and answers:
        os.write(fd, (answers.pop(0) + "\n").encode())
        pending = b""
_, status = os.waitpid(pid, 0)
sys.stdout.write(transcript.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
