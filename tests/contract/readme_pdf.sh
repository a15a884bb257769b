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
source "$src/tests/contract/pdf_home.sh"
/usr/bin/python3 "$src/tests/contract/make_pdf.py" contract.pdf
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
