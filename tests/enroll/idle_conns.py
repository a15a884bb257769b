#!/usr/bin/env python3
"""Opens N idle TCP connections to 127.0.0.1:PORT (nothing sent on them), writes how many into
NAME.open when they are, keeps them until the file NAME.stop exists, then writes into NAME.closed
how many of them the server had closed meanwhile, and exits. For the connection-cap tests.
Usage: idle_conns.py PORT N NAME"""
import resource
import os
import socket
import sys
import time

port, n, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 256)), hard))
conns = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect(("127.0.0.1", port))   # the kernel completes it (backlog) even when the server does not accept
    except OSError:
        s.close()
        continue
    conns.append(s)
with open(name + ".open.tmp", "w") as f:
    f.write("%d\n" % len(conns))
os.rename(name + ".open.tmp", name + ".open")
while not os.path.exists(name + ".stop"):
    time.sleep(0.1)
closed = 0
for s in conns:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""   # EOF: the server closed it
    except BlockingIOError:
        pass
    except OSError:
        closed += 1   # reset by the server
    s.close()
with open(name + ".closed.tmp", "w") as f:
    f.write("%d\n" % closed)
os.rename(name + ".closed.tmp", name + ".closed")
