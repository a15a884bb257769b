#!/usr/bin/python3
"""A real SMTP server on loopback for the outbox tests (aiosmtpd, python3-aiosmtpd).

Usage: smtp_sink.py MAILDIR [PORT]
Listens on 127.0.0.1:PORT (0, the default, picks a free port), prints the port on the first line
of stdout, and stores every accepted message in MAILDIR (aiosmtpd's Mailbox handler, which adds
X-MailFrom and X-RcptTo headers with the SMTP envelope). Runs until killed.
"""
import asyncio
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


async def main() -> None:
    handler = Mailbox(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", port,
                                      reuse_address=True)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
