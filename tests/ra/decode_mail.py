#!/usr/bin/python3
"""Decodes one RFC 5322 message with Python's email package (an independent MIME parser) and
prints JSON: headers decoded (RFC 2047), the text body decoded from its transfer encoding.

Usage: decode_mail.py FILE
"""
import email
import email.policy
import email.utils
import json
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
date = email.utils.parsedate_to_datetime(msg["Date"]) if msg["Date"] else None
out = {
    "subject": str(msg["Subject"]),
    "from": str(msg["From"]),
    "from_addr": email.utils.parseaddr(str(msg["From"]))[1],
    "to": str(msg["To"]),
    "message_id": str(msg["Message-ID"]),
    "date_epoch": int(date.timestamp()) if date else None,
    "content_type": msg.get_content_type(),
    "charset": msg.get_content_charset(),
    "transfer_encoding": str(msg["Content-Transfer-Encoding"]),
    "mail_from": str(msg["X-MailFrom"]) if msg["X-MailFrom"] else None,
    "rcpt_to": str(msg["X-RcptTo"]) if msg["X-RcptTo"] else None,
    "body": msg.get_content(),
    "defects": [str(d) for d in msg.defects],
    "max_line": max(len(l) for l in open(sys.argv[1], "rb").read().split(b"\n")),
}
print(json.dumps(out, ensure_ascii=False))
