#!/usr/bin/python3
"""An SMTP server that may offer STARTTLS, for the outbox's TLS tests (aiosmtpd, python3-aiosmtpd).

Usage: smtp_tls_sink.py MAILDIR LOG HOST [CERT KEY [implicit]]
Listens on HOST:0 and prints the port on the first line of stdout. With CERT and KEY (PEM) it
offers STARTTLS and requires it before MAIL (aiosmtpd's require_starttls), or with "implicit"
speaks TLS from the first byte (smtps://); without them it speaks plain SMTP only. Every command it receives is appended to LOG as "COMMAND tls|clear" (EHLO, MAIL,
RCPT, DATA), and every accepted message is stored in MAILDIR with an "X-Sink-TLS: yes|no" header
saying whether it came over TLS. Runs until killed.
"""
import asyncio
import ssl
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


class Recorder(Mailbox):
    def __init__(self, maildir: str, log: str, implicit_tls: bool) -> None:
        super().__init__(maildir)
        self.log = log
        self.implicit_tls = implicit_tls

    def tls(self, session) -> bool:
        return self.implicit_tls or session.ssl is not None

    def note(self, session, command: str) -> None:
        with open(self.log, "a") as f:
            f.write(f"{command} {'tls' if self.tls(session) else 'clear'}\n")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.note(session, "EHLO")
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.note(session, "MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.note(session, "RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.note(session, "DATA")
        tls = b"yes" if self.tls(session) else b"no"
        envelope.content = b"X-Sink-TLS: " + tls + b"\r\n" + envelope.original_content
        envelope.original_content = envelope.content
        return await super().handle_DATA(server, session, envelope)


async def main() -> None:
    maildir, log, host = sys.argv[1], sys.argv[2], sys.argv[3]
    context = None
    if len(sys.argv) > 5:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
    implicit = len(sys.argv) > 6 and sys.argv[6] == "implicit"
    handler = Recorder(maildir, log, implicit)
    loop = asyncio.get_running_loop()
    if implicit:
        server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), host, 0,
                                          reuse_address=True, ssl=context)
    else:
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.test", tls_context=context, require_starttls=context is not None),
            host, 0, reuse_address=True)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
