#!/usr/bin/python3
"""Enrollment round trips (enroll.start + enroll.collect) over one HTTPS keep-alive connection to a
running jitsuind, with the download PIN read back from the outbox itself (the sealed secret opened
with HOME/outbox.key, as jitsuin's outbox would), and where one round trip spends its time.

Usage: bench_enroll.py API_HOST API_PORT ROOT_PEM HOME COUNT
Needs jitsuind running on HOME with the outbox worker off (server.outbox_interval_seconds 0, so the
sealed PIN is still there), the RA staff of tests/enroll/ra_fixture.sh (suzuki, takahashi with
their *.pw files in the current folder) and rate limits above COUNT. Prints JSON on the last line.
"""
import hashlib
import http.client
import json
import os
import sqlite3
import ssl
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography import x509
from cryptography.x509.oid import NameOID

host, port, root, home, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=root)
conn = http.client.HTTPSConnection(host, port, context=ctx)


def call(name, body, token=None, expect=200):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request("POST", "/api/v1/" + name, json.dumps(body), headers)
    r = conn.getresponse()
    data = json.loads(r.read() or b"null")
    if r.status != expect:
        sys.exit(f"{name}: {r.status} {data}")
    return data


def login(user):
    with open(user + ".pw") as f:
        return call("session.login", {"user": user, "password": f.read().rstrip("\n")})["token"]


suzuki, takahashi = login("suzuki"), login("takahashi")
today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
applicants = [{"name_kanji": "試験 太郎", "name_kana": "シケン タロウ", "name_romaji": f"Taro Shiken {i}",
               "organization_romaji": "Bench Kensetsu", "email": f"bench{i}@example.jp", "postcode": "105-0004",
               "home_address": "東京都港区新橋2-6-2", "validity_years": 1} for i in range(count)]
bundle = call("ra.bundle.create", {
    "company": {"name": "ベンチ建設株式会社", "name_kana": "ベンチケンセツ", "name_romaji": "Bench Kensetsu",
                "address": "東京都港区新橋1-1-1", "representative_name": "試験 一郎", "representative_title": "代表取締役"},
    "contract_kind": "new", "applied_by": "representative", "received_on": today, "seal_form": True,
    "applicant_list": True, "token_quantity": count,
    "contacts": [{"role": "contact", "name": "連絡 花子", "email": "contact@example.jp"}],
    "applicants": applicants}, suzuki)
bid, apps = bundle["bundle"], bundle["applications"]
for kind in ("registration_current", "representative_seal"):
    call("ra.document.add", {"bundle": bid, "kind": kind, "issued": today}, suzuki)
for a in apps:
    for kind in ("residence_record", "personal_seal"):
        call("ra.document.add", {"bundle": bid, "kind": kind, "issued": today, "application": a}, suzuki)
call("ra.check", {"bundle": bid}, suzuki)
call("ra.approve", {"bundle": bid}, takahashi)
pins = {}
for i, a in enumerate(apps):
    pins[a] = call("ra.pin.issue", {"application": a, "letter": False}, suzuki)["pin"]
    call("ra.mail.sent", {"application": a, "tracking": f"{900000000000 + i}"}, suzuki)
csrs = {}
for a in apps:
    key = ec.generate_private_key(ec.SECP256R1())
    req = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])).sign(key, hashes.SHA256())
    csrs[a] = req.public_bytes(serialization.Encoding.PEM).decode()

db = sqlite3.connect(os.path.join(home, "jitsuin.db"), timeout=30)
with open(os.path.join(home, "outbox.key")) as f:
    outbox_key = bytes.fromhex(f.read().strip())


def download_pin(app):
    """The download PIN of the newest download_pin mail for `app`, opened as the outbox does."""
    rows = db.execute("SELECT message_id, recipient, template, language, params, sealed FROM outbox "
                      "WHERE template = 'download_pin' ORDER BY id DESC LIMIT 50").fetchall()
    for token, recipient, template, language, params, sealed in rows:
        if json.loads(params).get("application_number") == str(app):
            binding = b"\0".join([b"jitsuin outbox v1", token.encode(), recipient.encode(), template.encode(),
                                  language.encode()])
            plain = AESGCM(outbox_key).decrypt(sealed[1:13], sealed[13:], binding)
            return json.loads(plain)["download_pin"]
    sys.exit(f"no download PIN mail for application {app}")


# The measured loop: start, the PIN from the outbox, collect.
t_start = t_read = t_collect = 0.0
serials = set()
begin = time.perf_counter()
for a in apps:
    t0 = time.perf_counter()
    call("enroll.start", {"application_id": a, "application_pin": pins[a], "csr": csrs[a]})
    t1 = time.perf_counter()
    pin = download_pin(a)
    t2 = time.perf_counter()
    serials.add(call("enroll.collect", {"application_id": a, "download_pin": pin})["serial"])
    t3 = time.perf_counter()
    t_start += t1 - t0
    t_read += t2 - t1
    t_collect += t3 - t2
elapsed = time.perf_counter() - begin
if len(serials) != count:
    sys.exit(f"{len(serials)} certificates for {count} round trips")

# The parts, measured here in the same run: scrypt as ra/secret.cpp (N 2^15, r 8, p 1; three per
# round trip: the application PIN, the download PIN's hash, the download PIN's check), a P-256
# CSR self-signature verification (two: enroll.start and the CA's own check at issuance).
n = 5
t0 = time.perf_counter()
for _ in range(n):
    hashlib.scrypt(b"0123456789ABCDEF", salt=os.urandom(16), n=1 << 15, r=8, p=1, maxmem=64 << 20, dklen=32)
scrypt_s = (time.perf_counter() - t0) / n
req = x509.load_pem_x509_csr(csrs[apps[0]].encode())
m = 500
t0 = time.perf_counter()
for _ in range(m):
    req.is_signature_valid
verify_s = (time.perf_counter() - t0) / m
print(json.dumps({"count": count, "seconds": elapsed, "round_trips_per_s": count / elapsed,
                  "start_ms": 1000 * t_start / count, "pin_read_ms": 1000 * t_read / count,
                  "collect_ms": 1000 * t_collect / count, "scrypt_ms": 1000 * scrypt_s,
                  "csr_verify_ms": 1000 * verify_s}))
