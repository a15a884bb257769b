#!/usr/bin/env bash
# The examples of README.md's "PDF signatures (contract/)" section, run for real: its first sh
# block is extracted and run as written, with `jitsuin` the built binary on a fresh home whose CA
# exists and whose administrator is logged in, on a SoftHSM2 token store of its own. Then the
# results are checked: both signatures PASSED, pdfsig agrees, the --json report says so. The
# second sh block (partner CAs) runs against a partner CA made with openssl whose CRL a local
# HTTP server (python3 -m http.server) serves, with a PDF its signer signed.
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
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
open("readme2.sh", "w").write(blocks[1])
print(blocks[0])
PY
source ./readme.sh > readme.out 2>&1 || { cat readme.out; echo "readme_pdf: the README example failed"; exit 1; }
cat readme.out
fail() { echo "readme_pdf: $*"; exit 1; }
[ "$(grep -c 'Signature is Valid' readme.out)" = 2 ] || fail "pdfsig did not find both signatures valid"
grep -q '^Signature1 (ETSI.CAdES.detached), covers revision 2 of 3: PASSED' readme.out || fail "Signature1 not PASSED"
grep -q '^Signature2 (ETSI.CAdES.detached), covers revision 3 of 3: PASSED' readme.out || fail "Signature2 not PASSED"
grep -q '"all_passed": true' readme.out || fail "the --json report is not all_passed"
grep -q '"validation_time": "2026-12-24T00:00:00Z"' readme.out || fail "--at was not used"

# The partner CA (openssl ca, its CRL served over HTTP) and a PDF its signer signed (key on alice's token).
# From here on the real clock (openssl stamps the partner's CRL with it): log in again at it.
unset JITSUIN_TEST_NOW
jitsuin login --user admin --password-file admin.pw >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner-ca.key -subj '/CN=Partner CA' \
  -days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out partner-ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner.key -subj '/CN=Partner Signer' \
  -out partner.csr 2>/dev/null
printf 'keyUsage=critical,digitalSignature\n' > partner.ext
openssl x509 -req -in partner.csr -CA partner-ca.pem -CAkey partner-ca.key -CAcreateserial -days 10 \
  -extfile partner.ext -out partner.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in partner.key -out partner.p8
softhsm2-util --import partner.p8 --token alice --label partner --id 02 --pin 12345678 >/dev/null
mkdir site && touch index.txt && echo 01 > crlnumber
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=7\n' > ca.cnf
openssl ca -config ca.cnf -gencrl -keyfile partner-ca.key -cert partner-ca.pem -out site/partner.crl 2>/dev/null
jitsuin pdf sign contract.pdf --out partner-signed.pdf --key 'pkcs11:token=alice;object=partner' --cert partner.pem \
  --pin-file alice.pin >/dev/null
(cd site && exec python3 -u -m http.server 0 --bind 127.0.0.1 > ../http.log 2>&1) &
http_pid=$!
trap 'kill $http_pid 2>/dev/null; rm -rf "$work"' EXIT
until grep -q ' port ' http.log 2>/dev/null; do sleep 0.05; done
PARTNER_CRL_URL="http://127.0.0.1:$(sed -nE 's/.* port ([0-9]+).*/\1/p' http.log | head -1)/partner.crl"
source ./readme2.sh > readme2.out 2>&1 || { cat readme2.out; echo "readme_pdf: the partner CA example failed"; exit 1; }
cat readme2.out
grep -q '^Partner: CN=Partner CA' readme2.out || fail "trust list does not show the partner"
grep -q 'kept CRL number 1' readme2.out || fail "crl fetch did not keep the partner's CRL"
grep -q '^Signature1 (ETSI.CAdES.detached), covers revision 2 of 2: PASSED' readme2.out || fail "partner signer not PASSED"
grep -q 'not revoked (CRL of' readme2.out || fail "the partner CRL was not used"
grep -q '^untrusted again: NO_CERTIFICATE_CHAIN_FOUND' readme2.out || fail "removing the partner did not untrust it"
grep -q 'NO_CERTIFICATE_CHAIN_FOUND' <(jitsuin pdf verify partner-signed.pdf --json) || fail "not NO_CERTIFICATE_CHAIN_FOUND"
echo "readme_pdf: OK"
