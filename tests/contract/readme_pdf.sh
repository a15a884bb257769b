#!/usr/bin/env bash
# The examples of README.md's "PDF signatures (contract/)" section, run for real: its first sh
# block is extracted and run as written, with `jitsuin` the built binary on a fresh home whose CA
# exists and whose administrator is logged in, on a SoftHSM2 token store of its own. Then the
# results are checked: both signatures PASSED, pdfsig agrees, the --json report says so.
# Registered with CTest as contract_readme (tests/contract/CMakeLists.txt).
#
# Usage: tests/contract/readme_pdf.sh JITSUIN_BINARY SOURCE_DIR
set -euo pipefail
bin="$(realpath "$1")"
src="$(realpath "$2")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# Every command runs at a fixed time, so the README's --at lies inside the certificates' validity.
export JITSUIN_TEST_NOW=2026-11-29T12:00:00Z
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
export SOFTHSM2_CONF="$work/softhsm2.conf"
jitsuin() { "$bin" --home "$work/home" "$@"; }
jitsuin ca init >/dev/null
printf 'passphrase of the RA administrator\n' > admin.pw && chmod 600 admin.pw
jitsuin ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
jitsuin login --user admin --password-file admin.pw >/dev/null
# contract.pdf: one page written by hand.
/usr/bin/python3 - <<'PY'
content = b"BT /F1 24 Tf 72 700 Td (Amount: 100 EUR) Tj ET"
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
out, offsets = b"%PDF-1.7\n", []
for i, o in enumerate(objs):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open("contract.pdf", "wb").write(out)
PY
/usr/bin/python3 - "$src/README.md" > readme.sh <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## PDF signatures (contract/)", 1)[1]
print(re.search(r"```sh\n(.*?)```", section, re.S).group(1))
PY
source ./readme.sh > readme.out 2>&1 || { cat readme.out; echo "readme_pdf: the README example failed"; exit 1; }
cat readme.out
fail() { echo "readme_pdf: $*"; exit 1; }
[ "$(grep -c 'Signature is Valid' readme.out)" = 2 ] || fail "pdfsig did not find both signatures valid"
grep -q '^Signature1 (ETSI.CAdES.detached), covers revision 2 of 3: PASSED' readme.out || fail "Signature1 not PASSED"
grep -q '^Signature2 (ETSI.CAdES.detached), covers revision 3 of 3: PASSED' readme.out || fail "Signature2 not PASSED"
grep -q '"all_passed": true' readme.out || fail "the --json report is not all_passed"
grep -q '"validation_time": "2026-12-24T00:00:00Z"' readme.out || fail "--at was not used"
echo "readme_pdf: OK"
