#!/usr/bin/env bash
# Issue 20, item 14: jitsuind's OCSP responder takes DER only and a nonce as RFC 8954 2.1 says (one
# nonce, an OCTET STRING of 1 to 32 octets); anything else is answered malformedRequest. Requests
# from `openssl ocsp` (its default 16-octet nonce) and built byte by byte (python3, raw DER) are
# POSTed with curl (and one as GET); `openssl ocsp -respin` reads every answer.
# Usage: tests/enroll/abuse_ocsp_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: abuse_ocsp)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" abuse_ocsp_test "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
openssl x509 -inform DER -in "$home/crl/issuing.crt" -out issuing.pem
server_config >server.json
start server.json
url="$http/ocsp"

# openssl's own request, with its default nonce: answered, the nonce checked by openssl.
openssl ocsp -issuer issuing.pem -serial 0x1234 -url "$url" -CAfile "$root" -resp_text >ask.txt 2>ask.err ||
  fail "openssl ocsp: $(cat ask.txt ask.err)"
grep -q "^Response verify OK" ask.err && grep -q "OCSP Nonce" ask.txt || fail "openssl ocsp -nonce: $(cat ask.txt ask.err)"
if grep -q WARNING ask.txt ask.err; then fail "openssl warns: $(cat ask.err)"; fi
check "openssl ocsp with its 16-octet nonce: answered, nonce echoed and checked"

# The same request without a nonce, as openssl writes it; variants of it built in python3.
openssl ocsp -issuer issuing.pem -serial 0x1234 -no_nonce -reqout plain.der >/dev/null 2>&1 || fail "openssl ocsp -reqout"
cat >build.py <<'PY'
import sys
def length(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b
def tlv(tag, content): return bytes([tag]) + length(len(content)) + content
def parse(b):   # -> tag, content, rest (DER lengths only: openssl writes DER)
    n = b[1]
    if n < 0x80: return b[0], b[2:2 + n], b[2 + n:]
    k = n & 0x7f; n = int.from_bytes(b[2:2 + k], "big")
    return b[0], b[2 + k:2 + k + n], b[2 + k + n:]
NONCE_OID = bytes.fromhex("06092b0601050507300102")
kind, out = sys.argv[1], sys.argv[2]
_, tbs_der, _ = parse(open("plain.der", "rb").read())
_, tbs, _ = parse(tbs_der)
def with_nonces(values):   # values: each nonce extension's extnValue
    exts = b"".join(tlv(0x30, NONCE_OID + tlv(0x04, v)) for v in values)
    return tlv(0x30, tlv(0x30, tbs + tlv(0xa2, tlv(0x30, exts))))
def nonce(n): return tlv(0x04, bytes(range(1, n + 1)))
if kind.startswith("nonce"): req = with_nonces([nonce(int(kind[5:]))])
elif kind == "two": req = with_nonces([nonce(8), nonce(8)])
elif kind == "bare": req = with_nonces([bytes(range(1, 17))])   # the 16 octets without their OCTET STRING
elif kind == "indefinite":   # the outer SEQUENCE with an indefinite length
    req = b"\x30\x80" + tlv(0x30, tbs) + b"\x00\x00"
elif kind == "longlength":   # the outer SEQUENCE's length in three octets where one does
    inner = tlv(0x30, tbs); req = b"\x30\x82" + len(inner).to_bytes(2, "big") + inner
open(out, "wb").write(req)
PY
post() {   # post FILE -> the response status as openssl reads the answer
  curl -sS -o resp.der -H 'Content-Type: application/ocsp-request' --data-binary @"$1" "$url" || fail "POST $1"
  openssl ocsp -respin resp.der -resp_text -noverify >resp.txt 2>&1 || true
  # "OCSP Response Status: successful (0x0)", or for an error status "Responder Error: malformedrequest (1)"
  sed -n 's/^ *OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' resp.txt
}
for n in 1 16 32; do
  /usr/bin/python3 build.py "nonce$n" req.der
  [ "$(post req.der)" = successful ] || fail "a nonce of $n octets: $(cat resp.txt)"
  # Echoed as sent (openssl prints the extnValue in hex: 04, the length, the octets).
  want="$(/usr/bin/python3 -c 'import sys; n = int(sys.argv[1]); print("".join("%02X" % b for b in bytes([4, n]) + bytes(range(1, n + 1))))' "$n")"
  tr -d ' \n' <resp.txt | grep -q "OCSPNonce:$want" || fail "a nonce of $n octets not echoed: $(cat resp.txt)"
done
check "nonces of 1, 16 and 32 octets: successful, echoed"
for kind in nonce0 nonce33 two bare indefinite longlength; do
  /usr/bin/python3 build.py "$kind" req.der
  [ "$(post req.der)" = malformedrequest ] || fail "$kind: $(cat resp.txt)"
done
# OpenSSL itself takes the BER forms (so the refusal is the responder's rule).
/usr/bin/python3 build.py indefinite ber.der
openssl ocsp -reqin ber.der -req_text >/dev/null 2>&1 || fail "openssl does not read the BER request"
# The same over GET (RFC 6960 appendix A.1: the base64 of the DER in the path).
/usr/bin/python3 build.py nonce33 req.der
curl -sS -o resp.der "$url/$(base64 -w0 req.der | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')" || fail "GET"
openssl ocsp -respin resp.der -resp_text -noverify >resp.txt 2>&1 || true   # exits 1 on an error status
grep -q "^Responder Error: malformedrequest" resp.txt || fail "GET nonce33: $(cat resp.txt)"
check "nonce of 0 or 33 octets, two nonces, a nonce without its OCTET STRING, BER lengths: malformedRequest"

if grep -q internalError server.err; then fail "a malformedRequest was logged as an internal error: $(cat server.err)"; fi
stop
echo "abuse_ocsp_test: PASSED"
