#!/usr/bin/env bash
# The API's contract (CTest jitsuind_openapi): enroll/openapi.json describes exactly the routes
# `jitsuind --routes` prints, both ways; it is OpenAPI 3 with every $ref resolving; a real jitsuind
# serves it byte for byte at /api/v1/openapi.json; and every listed route is answered (not 404) with
# the security the document gives it: called without a token with a body its schema allows, a
# bearer route says 401 "no session token", a route without security never does.
# Usage: tests/enroll/openapi_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
SOURCE_DIR="$(realpath "$3")"
DOC="$SOURCE_DIR/enroll/openapi.json"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuind-openapi.XXXXXX")"
source "$here/jitsuind_start.sh"
trap 'kill_jitsuind; rm -rf "$work"' EXIT
cd "$work"
fail() {
  echo "openapi_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }

# 1. The route list (no home, no server needed) against the document, both ways.
"$JITSUIND" --routes >routes.txt
[ "$(wc -l <routes.txt)" -gt 10 ] || fail "jitsuind --routes printed $(wc -l <routes.txt) lines"
grep -qx 'POST /api/v1/session.login' routes.txt || fail "no session.login in --routes"
if grep -q -e ' /api/v1/ca.init$' -e ' /api/v1/crl.publish$' routes.txt; then fail "a local handler is listed"; fi
/usr/bin/python3 "$here/openapi_check.py" "$DOC" routes.txt --calls calls.txt || fail "enroll/openapi.json and jitsuind --routes differ"
check "jitsuind --routes ($(wc -l <routes.txt) routes) = enroll/openapi.json"

# 2. A real jitsuind serves the document byte for byte.
home="$work/home"
mkdir -p "$home"
# CRL partitions on, so that /crl/issuing-{partition}.crl (called with its example, 0) is published.
test_config "$home/jitsuin.json" ca.crl='{"publish_dir": "crl", "distribution_point": "http://localhost:8080/crl/issuing.crl",
  "root_distribution_point": "http://localhost:8080/crl/root.crl", "partition_size": 100000}'
"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
# An operator exists, so ra.operator.add is past its bootstrap and needs a session like the rest.
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
start_jitsuind "$home" server
code="$(curl -sS --cacert "$ROOT_PEM" -D headers.txt -o served.json -w '%{http_code}' "$HTTPS_URL/api/v1/openapi.json")"
[ "$code" = 200 ] || fail "GET /api/v1/openapi.json: $code"
cmp -s served.json "$DOC" || fail "GET /api/v1/openapi.json is not enroll/openapi.json"
grep -qi '^content-type: application/json' headers.txt || fail "openapi.json content type: $(cat headers.txt)"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP_URL/api/v1/openapi.json")" = 404 ] || fail "plain HTTP serves the API document"
check "GET /api/v1/openapi.json = enroll/openapi.json"

# 3. Every listed route is answered on the channel the document gives it, with its security.
n=0
while read -r method path auth body; do
  base="$HTTPS_URL"
  args=(-sS --cacert "$ROOT_PEM" -o body.json -w '%{http_code}')
  if [ "$method" = POST ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  if [ "$method" = HEAD ]; then args+=(-I); fi
  code="$(curl "${args[@]}" -X "$method" "$base$path" || true)"
  [ "$code" != 404 ] && [ "$code" != 405 ] || fail "$method $path is listed but answered $code: $(cat body.json)"
  if [ "$auth" = bearer ]; then
    [ "$code" = 401 ] && grep -q 'no session token' body.json ||
      fail "$method $path needs a session by the document, but answered $code to $body without one: $(cat body.json)"
  elif grep -q 'no session token' body.json 2>/dev/null; then
    fail "$method $path needs no session by the document, but asked for one: $(cat body.json)"
  fi
  if [ "$method" = POST ] && [[ "$path" == /api/v1/* ]]; then
    printf '%s' "$body" >request.json
    /usr/bin/python3 "$here/openapi_validate.py" "$DOC" "${path#/api/v1/}" request.json "$code" body.json ||
      fail "$method $path: request or answer not as documented"
  fi
  rm -f body.json
  n=$((n + 1))
done <calls.txt
check "$n routes answered with the document's security (bearer: 401 without a token)"
stop_jitsuind
echo "openapi_test: all passed"
