#!/usr/bin/env python3
"""Writes a DER CRL of N revoked entries (20-byte serials, a revocation time and a reasonCode
extension each, as `jitsuin crl publish` writes them) for the published-file tests: the size of
the CRL of a large CA without signing half a million certificates first. Its signature is not a
real one (the server serves the bytes as they are; clients verify, the test compares bytes).
Usage: big_crl.py N OUT"""
import os
import sys


def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body


def seq(*parts):
    return tlv(0x30, b"".join(parts))


ECDSA_SHA256 = seq(tlv(0x06, bytes.fromhex("2a8648ce3d040302")))
REASON = seq(seq(tlv(0x06, bytes.fromhex("551d15")), tlv(0x04, tlv(0x0A, b"\x01"))))   # keyCompromise


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    when = tlv(0x17, b"261201000000Z")
    entries = []
    for i in range(n):
        serial = b"\x01" + os.urandom(15) + i.to_bytes(4, "big")
        entries.append(seq(tlv(0x02, serial), when, REASON))
    name = seq(tlv(0x31, seq(tlv(0x06, bytes.fromhex("550403")), tlv(0x0C, b"Jitsuin Issuing CA 1"))))
    tbs = seq(tlv(0x02, b"\x01"), ECDSA_SHA256, name, when, tlv(0x17, b"261208000000Z"), seq(*entries))
    crl = seq(tbs, ECDSA_SHA256, tlv(0x03, b"\x00" + seq(tlv(0x02, b"\x01" * 32), tlv(0x02, b"\x02" * 32))))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(crl)
    os.rename(tmp, out)   # as `crl publish`: a new file, renamed into place


main()
