#!/usr/bin/python3
# Turns a jitsuin database into one as an earlier version wrote it: the audit entries lose their
# row digests ("certificate_row", "authority_row", ca.init's "rows") and the hash chain is
# recomputed over what remains, as db/src/audit.cpp does. For the legacy tests of audit verify.
# Usage: strip_row_digests.py DB
import hashlib, json, sqlite3, struct, sys

def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in ("certificate_row", "authority_row", "rows")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v

def field(s):
    b = s.encode()
    return struct.pack(">Q", len(b)) + b

db = sqlite3.connect(sys.argv[1])
prev = bytes(32)
rows = db.execute("SELECT seq, at, actor, action, object, details FROM audit_log ORDER BY seq").fetchall()
for seq, at, actor, action, obj, details in rows:
    details = json.dumps(strip(json.loads(details)), ensure_ascii=False, separators=(",", ":"))
    h = hashlib.sha256(b"jitsuin-audit-v1" + prev + struct.pack(">QQ", seq, at) + field(actor) + field(action) +
                       field(obj) + field(details)).digest()
    db.execute("UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?", (details, prev, h, seq))
    prev = h
db.commit()
