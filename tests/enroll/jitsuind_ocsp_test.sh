#!/usr/bin/env bash
# jitsuind's OCSP responder for real: the built binaries on a fresh temp home (embedded SoftHSM2
# token, SQLite file), the server on 127.0.0.1 port 0, asked by `openssl ocsp` and GnuTLS
# `ocsptool` over POST and by curl over GET (RFC 6960 appendix A, RFC 5019 caching headers);
# good, revoked with time and reason, unknown, nonce, malformed requests; a revocation made over
# the JSON API answered revoked at once and listed in the next CRL.
# Usage: tests/enroll/jitsuind_ocsp_test.sh PATH/TO/jitsuin PATH/TO/jitsuind   (CTest: jitsuind_ocsp)
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/jitsuind_start.sh"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuind-ocsp-test.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
home="$work/var"
cd "$work"
fail() {
  echo "jitsuind_ocsp_test: FAILED: $*" >&2
  echo "--- server stderr:" >&2; cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }

# A CA, its published CRLs and CA certificates, the first administrator; jitsuind on port 0.
"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
"$JITSUIND" --home "$home" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >server.out 2>server.err &
pid=$!
jitsuind_ports "$(jitsuind_wait "$pid" server.out)"
tls_port="$TLS_PORT"; http_port="$HTTP_PORT"; https="$HTTPS_URL"
root="$home/server/root.pem"
openssl x509 -inform DER -in "$home/crl/issuing.crt" -out issuing.pem

# Certificates issued over the API by the administrator (Bearer session token from session.login).
api() {   # api NAME BODY [TOKEN] -> prints the status, body in body.json
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary "$2" "$https/api/v1/$1"
}
[ "$(api session.login '{"user": "admin", "password": "passphrase of admin, long enough"}')" = 200 ] ||
  fail "login: $(cat body.json)"
token="$(/usr/bin/python3 -c 'import json; print(json.load(open("body.json"))["token"])')"
issue() {   # issue NAME -> NAME.pem, its serial on stdout
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  local body
  body="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"profile": "individual-signing", "csr": open(sys.argv[1]).read(),
    "subject": {"organization": "Example Kensetsu", "common_name": sys.argv[2]}}))' "$1.csr" "$1")"
  [ "$(api ca.issue "$body" "$token")" = 200 ] || fail "ca.issue $1: $(cat body.json)"
  /usr/bin/python3 -c 'import json,sys; d = json.load(open("body.json")); open(sys.argv[1], "w").write(d["certificate"]); print(d["serial"])' "$1.pem"
}
serial_yamada="$(issue yamada)"
serial_suzuki="$(issue suzuki)"

# The responder is where the certificates say it is: their AIA OCSP URL's path, on our port.
aia="$(openssl x509 -in yamada.pem -noout -ocsp_uri)"
[ "$aia" = "http://localhost:8080/ocsp" ] || fail "AIA OCSP URL: $aia"
url="http://127.0.0.1:$http_port/${aia#http://*/}"
check "issued over the API; the certificates name $aia (served at $url)"

# good, with the nonce echoed (openssl checks it), over plain HTTP and over HTTPS.
ask() {   # ask CERT [openssl ocsp options...] -> output in ask.txt, its verification in ask.err
  local cert="$1"; shift
  openssl ocsp -issuer issuing.pem -cert "$cert" -url "$url" -CAfile "$root" -resp_text "$@" >ask.txt 2>ask.err ||
    fail "openssl ocsp $cert $*: $(cat ask.txt ask.err)"
  grep -q "^Response verify OK" ask.err || fail "response does not verify: $(cat ask.err)"
}
ask yamada.pem
grep -q "^yamada.pem: good" ask.txt || fail "yamada not good: $(cat ask.txt)"
grep -q "OCSP Nonce" ask.txt || fail "no nonce in the response"
if grep -q "WARNING" ask.txt ask.err; then fail "openssl warns: $(cat ask.err)"; fi
ask yamada.pem -no_nonce
grep -q "^yamada.pem: good" ask.txt || fail "yamada not good without a nonce"
if grep -q "OCSP Nonce" ask.txt; then fail "a nonce in the answer to a request without one"; fi
# openssl ocsp has no option for the TLS trust anchor of an https URL: the request goes by curl.
openssl ocsp -issuer issuing.pem -cert yamada.pem -no_nonce -reqout post.der >/dev/null 2>&1
curl -sS --cacert "$root" -H 'Content-Type: application/ocsp-request' --data-binary @post.der -D h.txt -o tls.der "$https/ocsp"
grep -qi '^content-type: application/ocsp-response' h.txt || fail "HTTPS content type: $(cat h.txt)"
openssl ocsp -respin tls.der -issuer issuing.pem -cert yamada.pem -CAfile "$root" -no_nonce >tls.txt 2>&1 || fail "over HTTPS: $(cat tls.txt)"
grep -q "^Response verify OK" tls.txt && grep -q "^yamada.pem: good" tls.txt || fail "over HTTPS: $(cat tls.txt)"
check "good, nonce echoed (and none with -no_nonce), over HTTP and HTTPS"

# unknown: a serial this CA never issued, and a certificate of another CA.
openssl ocsp -issuer issuing.pem -serial 0x1234567890 -url "$url" -CAfile "$root" >ask.txt 2>&1 || fail "$(cat ask.txt)"
grep -q "^Response verify OK" ask.txt && grep -q "^0x1234567890: unknown" ask.txt || fail "unknown serial: $(cat ask.txt)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -subj "/CN=Other CA" \
  -days 30 -out other-ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj "/CN=other" 2>/dev/null |
  openssl x509 -req -CA other-ca.pem -CAkey other-ca.key -set_serial "0x$serial_yamada" -days 30 -out other.pem 2>/dev/null
# Our signer is not the other CA's delegate, so openssl cannot verify the answer: -noverify.
openssl ocsp -issuer other-ca.pem -cert other.pem -url "$url" -noverify >ask.txt 2>&1 || fail "$(cat ask.txt)"
grep -q "^other.pem: unknown" ask.txt || fail "another CA's certificate (with yamada's serial): $(cat ask.txt)"
check "unknown: a serial never issued, another CA's certificate"

# A revocation over the API (administrator's session): revoked at once, with its time and reason.
ask suzuki.pem -no_nonce   # good now, and kept pre-signed
grep -q "^suzuki.pem: good" ask.txt || fail "suzuki not good before the revocation"
[ "$(api ca.revoke "{\"serial\": \"$serial_suzuki\", \"reason\": \"keyCompromise\"}" "$token")" = 200 ] ||
  fail "ca.revoke: $(cat body.json)"
effective="$(/usr/bin/python3 -c 'import json; print(json.load(open("body.json"))["revocation_effective"])')"
ask suzuki.pem -no_nonce
grep -q "^suzuki.pem: revoked" ask.txt || fail "suzuki not revoked at once: $(cat ask.txt)"
grep -q "Reason: keyCompromise" ask.txt || fail "no reason: $(cat ask.txt)"
when="$(sed -n 's/^\tRevocation Time: //p' ask.txt)"
[ "$(date -u -d "$when" +%Y-%m-%dT%H:%M:%SZ)" = "$effective" ] || fail "revocation time $when, effective $effective"
ask yamada.pem -no_nonce
grep -q "^yamada.pem: good" ask.txt || fail "yamada changed"
# ... and in the next CRL.
"$JITSUIN" --home "$home" crl publish >/dev/null
for _ in $(seq 1 50); do   # the server looks at the file once a second at most
  curl -sS -o served.crl "http://127.0.0.1:$http_port/crl/issuing.crl"
  cmp -s served.crl "$home/crl/issuing.crl" && break
  sleep 0.1
done
openssl crl -inform DER -in served.crl -noout -text >crl.txt
upper="$(tr 'a-f' 'A-F' <<<"$serial_suzuki")"
grep -A4 "Serial Number: $upper" crl.txt | grep -q "Key Compromise" || fail "suzuki ($upper) not in the next CRL: $(cat crl.txt)"
if grep -q "Serial Number: $(tr 'a-f' 'A-F' <<<"$serial_yamada")" crl.txt; then fail "yamada in the CRL"; fi
check "ca.revoke over the API -> revoked ($effective, keyCompromise) in openssl ocsp at once, and in the next CRL"

# The README's commands (### OCSP over HTTP), with this test's home (var) and port: POST, then GET
# (RFC 6960 A.1).
(
  openssl ocsp -issuer var/crl/issuing.crt -cert yamada.pem -url "http://127.0.0.1:$http_port/ocsp" -CAfile var/server/root.pem
  openssl ocsp -issuer var/crl/issuing.crt -cert yamada.pem -no_nonce -reqout req.der >/dev/null 2>&1
  curl -sS -D get-headers.txt -o resp.der "http://127.0.0.1:$http_port/ocsp/$(base64 -w0 req.der | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')"
  openssl ocsp -respin resp.der -issuer var/crl/issuing.crt -cert yamada.pem -CAfile var/server/root.pem -no_nonce
) >get.txt 2>&1 || fail "GET: $(cat get.txt)"
[ "$(grep -c "^Response verify OK" get.txt)" = 2 ] && [ "$(grep -c "^yamada.pem: good" get.txt)" = 2 ] ||
  fail "README commands: $(cat get.txt)"
h="$(tr -d '\r' <get-headers.txt)"
grep -q "^HTTP/1.1 200" <<<"$h" || fail "GET status: $h"
grep -qi "^content-type: application/ocsp-response$" <<<"$h" || fail "GET content type: $h"
cc="$(grep -i '^cache-control:' <<<"$h")"
for part in public no-transform must-revalidate; do grep -q "$part" <<<"$cc" || fail "Cache-Control without $part: $cc"; done
max_age="$(sed -n 's/.*max-age=\([0-9]*\).*/\1/p' <<<"$cc")"
this_update="$(openssl ocsp -respin resp.der -resp_text -noverify | sed -n 's/^ *This Update: //p' | head -1)"
next_update="$(openssl ocsp -respin resp.der -resp_text -noverify | sed -n 's/^ *Next Update: //p' | head -1)"
[ "$(date -d "$(grep -i '^last-modified:' <<<"$h" | cut -d' ' -f2-)" +%s)" = "$(date -d "$this_update" +%s)" ] ||
  fail "Last-Modified is not thisUpdate ($this_update): $h"
[ "$(date -d "$(grep -i '^expires:' <<<"$h" | cut -d' ' -f2-)" +%s)" = "$(date -d "$next_update" +%s)" ] ||
  fail "Expires is not nextUpdate ($next_update): $h"
[ -n "$max_age" ] && [ "$max_age" -gt 0 ] && [ "$max_age" -le $(( $(date -d "$next_update" +%s) - $(date -d "$this_update" +%s) )) ] ||
  fail "max-age $max_age is not bounded by nextUpdate $next_update"
etag="$(grep -i '^etag:' <<<"$h" | cut -d' ' -f2-)"
[ -n "$etag" ] || fail "no ETag: $h"
get_url="http://127.0.0.1:$http_port/ocsp/$(base64 -w0 req.der | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$get_url")" = 304 ] || fail "If-None-Match: no 304"
# Unencoded '/', '+' and '=' in the path are base64 as well; over HTTPS too.
curl -sS --cacert "$root" -o resp2.der "$https/ocsp/$(base64 -w0 req.der)"
openssl ocsp -respin resp2.der -issuer issuing.pem -cert yamada.pem -CAfile "$root" -no_nonce >get2.txt 2>&1
grep -q "^yamada.pem: good" get2.txt || fail "GET with plain base64 over HTTPS: $(cat get2.txt)"
check "GET /ocsp/<percent-encoded base64>: verifies; Cache-Control max-age=$max_age public no-transform must-revalidate, Last-Modified = thisUpdate, Expires = nextUpdate, ETag, 304"

# Malformed requests: status 200 with an OCSP malformedRequest, for POST and GET alike.
malformed() {   # malformed WHAT CURL-ARGS... -> the answer is malformedRequest
  local what="$1"; shift
  [ "$(curl -sS -o bad.der -w '%{http_code}' "$@")" = 200 ] || fail "$what: HTTP status"
  openssl ocsp -respin bad.der -resp_text >bad.txt 2>&1 || true
  grep -q "OCSP Response Status: malformedrequest" bad.txt || grep -q "Responder Error: malformedrequest" bad.txt ||
    fail "$what: $(cat bad.txt)"
}
malformed "POST of text" -H 'Content-Type: application/ocsp-request' --data-binary 'hello' "$url"
head -c $(( $(stat -c %s req.der) - 3 )) req.der >truncated.der
malformed "POST of a truncated request" -H 'Content-Type: application/ocsp-request' --data-binary @truncated.der "$url"
malformed "POST of nothing" -H 'Content-Type: application/ocsp-request' --data-binary '' "$url"
malformed "GET of a bad %-escape" "$url/%zz"
malformed "GET of a cut %-escape" "$url/MEM%2"
malformed "GET of URL-safe base64" "$url/$(base64 -w0 req.der | tr '+/' '-_' | tr -d '=')"
malformed "GET of base64 that is not DER" "$url/aGVsbG8%3D"
malformed "GET of nothing" "$url/"
malformed "GET with a NUL" --path-as-is "$url/%00AAA"
[ "$(curl -sS -o /dev/null -w '%{http_code}' --data-binary @req.der -H 'Content-Type: text/plain' "$url")" = 415 ] ||
  fail "wrong Content-Type"
head -c 20000 /dev/zero >big.der
[ "$(curl -sS -o /dev/null -w '%{http_code}' --data-binary @big.der -H 'Content-Type: application/ocsp-request' "$url")" = 413 ] ||
  fail "a body over 16 KiB"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --data-binary @req.der "$url")" = 405 ] || fail "PUT"
ask yamada.pem
check "malformed POST bodies and GET paths -> 200 malformedRequest; wrong type 415, over 16 KiB 413, PUT 405; still serving"

# GnuTLS ocsptool asks too (it checks the delegated signer against the issuing CA, building no chain).
ocsptool --ask="$url" --load-issuer=issuing.pem --load-cert=yamada.pem --load-trust=issuing.pem --outfile=gnutls.pem \
  >gnutls.txt 2>&1 || fail "ocsptool --ask: $(cat gnutls.txt)"
grep -q "Certificate Status: good" gnutls.txt && grep -q "Verifying OCSP Response: Success" gnutls.txt ||
  fail "ocsptool yamada: $(cat gnutls.txt)"
ocsptool --ask="$url" --load-issuer=issuing.pem --load-cert=suzuki.pem --load-trust=issuing.pem --outfile=gnutls2.pem \
  >gnutls.txt 2>&1 || fail "ocsptool --ask suzuki: $(cat gnutls.txt)"
grep -q "Certificate Status: revoked" gnutls.txt && grep -q "Revocation time: " gnutls.txt &&
  grep -q "Verifying OCSP Response: Success" gnutls.txt ||
  fail "ocsptool suzuki: $(cat gnutls.txt)"
ocsptool -e --load-trust=issuing.pem --infile=resp.der --inder >gnutls.txt 2>&1 || fail "ocsptool -e: $(cat gnutls.txt)"
grep -q "Verifying OCSP Response: Success" gnutls.txt || fail "ocsptool -e on the GET answer: $(cat gnutls.txt)"
check "ocsptool --ask: good and revoked (with its time; ocsptool prints no reason), verified; ocsptool -e on the GET answer"

# OCSP requests answered in parallel while API calls run; nothing failed.
for i in $(seq 1 8); do
  ( for _ in 1 2 3 4 5; do
      curl -sS -H 'Content-Type: application/ocsp-request' --data-binary @req.der -o "par$i.der" "$url" || exit 1
      openssl ocsp -respin "par$i.der" -issuer issuing.pem -cert yamada.pem -CAfile "$root" -no_nonce 2>&1 |
        grep -q "^yamada.pem: good" || exit 1
    done ) &
done
for _ in 1 2 3; do [ "$(api ra.whoami '{}' "$token")" = 200 ] || fail "whoami during OCSP load"; done
for job in $(jobs -p); do [ "$job" = "$pid" ] || wait "$job" || fail "a parallel OCSP request failed"; done
check "parallel OCSP requests beside API calls"

grep -q '"target":"/ocsp"' server.out || fail "no access log line for /ocsp"
if grep -q "OCSP internalError" server.err; then fail "internal errors: $(cat server.err)"; fi
kill -TERM "$pid"; status=0; wait "$pid" || status=$?; pid=""
[ "$status" = 0 ] || fail "jitsuind exited $status on SIGTERM"
echo "jitsuind_ocsp_test: all passed"
