#!/usr/bin/python3
"""Compares what the CLI printed with what the API answered for one step of the parity test.

Usage: parity_compare.py STEP CLI_EXIT CLI_OUT CLI_ERR HTTP_STATUS API_BODY [HOME_A HOME_B]
A successful CLI command (exit 0, --json output) must match an API 200 body; a refused one
("jitsuin: error (KIND): MESSAGE", exit 1) an API error body {"error": KIND, "message": MESSAGE}.
Normalised on both sides: RFC 3339 times, application PINs, the homes' paths; the PIN letter (the
API's letter_pdf, base64, must be a PDF; the CLI's letter, the file it wrote, must be one too).
Exits 1 with a unified diff when they differ.
"""
import base64
import difflib
import json
import re
import sys

step, cli_exit, cli_out, cli_err, http_status, api_body = sys.argv[1:7]
homes = sys.argv[7:9]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
PIN = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def fail(message):
    print(f"parity: {step}: {message}", file=sys.stderr)
    sys.exit(1)


def normalise(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "letter_pdf":   # API: the approval notice itself
                if not base64.b64decode(x).startswith(b"%PDF-"):
                    fail("letter_pdf is not a PDF")
                continue
            if k == "letter":       # CLI --json: the file it wrote the same notice to
                with open(x, "rb") as f:
                    if not f.read(5) == b"%PDF-":
                        fail(f"{x} is not a PDF")
                continue
            out[k] = normalise(x)
        return out
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, str):
        if TIME.match(v):
            return "<time>"
        if PIN.match(v):
            return "<pin>"
        for h in homes:
            v = v.replace(h, "<home>")
    return v


with open(api_body, encoding="utf-8") as f:
    api = json.load(f)
if cli_exit == "0":
    if http_status != "200":
        fail(f"the CLI succeeded, the API answered {http_status}: {api}")
    with open(cli_out, encoding="utf-8") as f:
        cli = json.load(f)
else:
    if http_status == "200":
        fail(f"the CLI failed (exit {cli_exit}), the API answered 200")
    with open(cli_err, encoding="utf-8") as f:
        err = f.read().strip()
    m = re.match(r"^jitsuin: error \((\w+)\): (.*)$", err, re.S)
    if not m:
        fail(f"the CLI's error is not 'jitsuin: error (KIND): MESSAGE': {err}")
    cli = {"error": m.group(1), "message": m.group(2)}
a = json.dumps(normalise(api), indent=2, ensure_ascii=False, sort_keys=True).splitlines()
c = json.dumps(normalise(cli), indent=2, ensure_ascii=False, sort_keys=True).splitlines()
if a != c:
    diff = "\n".join(difflib.unified_diff(c, a, "cli", "api", lineterm=""))
    fail("the CLI and the API differ:\n" + diff)
print(f"same: {step} ({'HTTP ' + http_status})")
