#!/usr/bin/env bash
# jitsuind for real: the built jitsuin and jitsuind binaries on a fresh temp home (embedded
# SoftHSM2 token, SQLite file), the server on 127.0.0.1 port 0, checked with openssl and curl.
# Usage: tests/enroll/jitsuind_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: jitsuind)
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
SOURCE_DIR="$(realpath "${3:-$(dirname "${BASH_SOURCE[0]}")/../..}")"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuind-test.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
home="$work/home"
cd "$work"
fail() {
  echo "jitsuind_test: FAILED: $*" >&2
  echo "--- server stderr:" >&2; cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }
export JITSUIN_SESSION_FILE="$work/admin.session"

# A CA, its published CRLs and CA certificates, and the first administrator.
"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null

# Port 0: the bound ports are on the first line of standard output.
source "$SOURCE_DIR/tests/enroll/jitsuind_start.sh"
"$JITSUIND" --home "$home" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >server.out 2>server.err &
pid=$!
line="$(jitsuind_wait "$pid" server.out)"
[ "$line" = "$(head -n1 server.out)" ] || fail "the addresses are not the first line: $(cat server.out)"
jitsuind_ports "$line"
tls_port="$TLS_PORT"; http_port="$HTTP_PORT"; https="$HTTPS_URL"; http="$HTTP_URL"
[ "$tls_port" != 0 ] && [ "$http_port" != 0 ] || fail "port 0 was printed, not the bound port"
root="$home/server/root.pem"
check "listening on $https and $http"

# The root to trust is the CA's root; the server certificate (as served) verifies against it.
openssl x509 -in "$root" -noout -subject | grep -q "Jitsuin Root CA" || fail "root.pem is not the CA's root"
openssl s_client -connect "127.0.0.1:$tls_port" -showcerts </dev/null 2>/dev/null |
  awk '/BEGIN CERT/{n++} n>0{print > ("served" n ".pem")} /END CERT/{}' || true
[ -s served1.pem ] && [ -s served2.pem ] || fail "the server did not send its certificate and the issuing CA"
openssl verify -CAfile "$root" -untrusted served2.pem -purpose sslserver served1.pem | grep -q ': OK' ||
  fail "the server certificate does not verify against the root"
text="$(openssl x509 -in served1.pem -noout -text)"
grep -q "TLS Web Server Authentication" <<<"$text" || fail "no serverAuth in the server certificate"
grep -q "DNS:localhost, IP Address:127.0.0.1" <<<"$text" || fail "SAN is not from server.server_names: $text"
days=$(( ( $(date -d "$(openssl x509 -in served1.pem -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) ) / 86400 ))
[ "$days" -le 398 ] || fail "server certificate valid for $days days"
check "server certificate: verifies against the root, serverAuth, SAN, $days days"

# TLS 1.2 and 1.3 only.
for v in tls1_2 tls1_3; do
  openssl s_client -connect "127.0.0.1:$tls_port" "-$v" -CAfile "$root" -verify_return_error </dev/null >"s_$v.txt" 2>&1 ||
    fail "$v refused: $(tail -5 "s_$v.txt")"
  grep -q "Verify return code: 0 (ok)" "s_$v.txt" || fail "$v: certificate not verified"
done
if openssl s_client -connect "127.0.0.1:$tls_port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >s_tls1_1.txt 2>&1 &&
   grep -q "Protocol *: TLSv1.1" s_tls1_1.txt; then
  fail "TLS 1.1 was accepted"
fi
# The refusal is the server's (a protocol_version alert), not the client's own policy.
grep -q "alert protocol version" s_tls1_1.txt || fail "TLS 1.1 not refused by the server: $(tail -3 s_tls1_1.txt)"
check "TLS 1.2 and 1.3 accepted, TLS 1.1 refused"

# Health over HTTPS with the root as the only trust anchor.
[ "$(curl -sS --cacert "$root" -o health.json -w '%{http_code}' "$https/health")" = 200 ] || fail "/health"
grep -q '"status":"ok"' health.json || fail "/health body: $(cat health.json)"
check "curl --cacert root.pem $https/health"

# CRLs and CA certificates over plain HTTP: byte-identical, typed, ETag and conditional GET.
for f in crl/issuing.crl ca/issuing.crt ca/root.crt; do
  code="$(curl -sS -D h.txt -o got.bin -w '%{http_code}' "$http/$f")"
  [ "$code" = 200 ] || fail "GET /$f: $code"
  cmp -s got.bin "$home/crl/$(basename "$f")" || fail "/$f differs from the published file"
  case "$f" in *.crl) type=application/pkix-crl ;; *) type=application/pkix-cert ;; esac
  grep -qi "^content-type: $type" h.txt || fail "/$f: content type: $(cat h.txt)"
  grep -qi '^last-modified: ' h.txt || fail "/$f: no Last-Modified"
  etag="$(grep -i '^etag:' h.txt | cut -d' ' -f2- | tr -d '\r')"
  [ -n "$etag" ] || fail "/$f: no ETag"
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$http/$f")" = 304 ] || fail "/$f: no 304"
done
openssl crl -inform DER -in got.bin -noout 2>/dev/null && fail "root.crt parsed as a CRL?"
curl -sS "$http/crl/issuing.crl" | openssl crl -inform DER -noout -issuer | grep -q "Issuing CA" || fail "CRL unreadable"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$http/health")" = 404 ] || fail "plain HTTP serves more than CRLs"
[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{}' "$http/api/v1/session.login")" = 404 ] ||
  fail "plain HTTP serves the API"
# A publication while the server runs (cron): the token is free, and the new CRL is what is served.
old_etag="$(curl -sS -D - -o /dev/null "$http/crl/issuing.crl" | grep -i '^etag:' | tr -d '\r')"
timeout 60 "$JITSUIN" --home "$home" crl publish >/dev/null || fail "crl publish while jitsuind runs"
# The file is looked at once a second at most: the new CRL is served within a second.
for _ in $(seq 1 50); do
  curl -sS -o got.bin "$http/crl/issuing.crl"
  cmp -s got.bin "$home/crl/issuing.crl" && break
  sleep 0.1
done
cmp -s got.bin "$home/crl/issuing.crl" || fail "the new CRL is not what is served"
new_etag="$(curl -sS -D - -o /dev/null "$http/crl/issuing.crl" | grep -i '^etag:' | tr -d '\r')"
[ "$old_etag" != "$new_etag" ] || fail "the ETag did not change with the CRL"
check "CRL and CA certificates over HTTP: identical, typed, ETag + If-None-Match -> 304, new CRL served"

# Path traversal, plain and encoded, and a NUL: 404, nothing served.
for t in '/crl/../jitsuin.db' '/crl/%2e%2e/jitsuin.db' '/crl/%2E%2E%2Fjitsuin.db' '/ca/..%2f..%2fjitsuin.db' '/crl/issuing.crl%00'; do
  for base in "$http" "$https"; do
    code="$(curl -sS --cacert "$root" --path-as-is -o body.bin -w '%{http_code}' "$base$t")"
    [ "$code" = 404 ] || fail "$base$t: $code"
    if grep -q "SQLite" body.bin; then fail "$base$t served the database"; fi
  done
done
check "path traversal -> 404"

# API: a body over the limit (1 MiB) -> 413, and the server keeps serving.
head -c 2000000 /dev/zero | tr '\0' 'a' >big.json
code="$(curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary @big.json "$https/api/v1/session.login" || true)"
[ "$code" = 413 ] || fail "oversize body: $code"
grep -q '"error":"payload_too_large"' body.json || fail "413 body: $(cat body.json)"
[ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/health")" = 200 ] || fail "not serving after 413"
check "oversize body -> 413, still serving"

# Headers over the limit (8 KiB) -> 431, and the server keeps serving.
code="$(curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H "X-Flood: $(head -c 20000 /dev/zero | tr '\0' 'x')" \
        "$https/health" || true)"
[ "$code" = 431 ] || fail "header flood: $code"
[ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/health")" = 200 ] || fail "not serving after 431"
check "header flood -> 431, still serving"

# Pipelining: 20 requests written at once on one connection get server.max_pipelined (16)
# responses, then the connection is closed.
/usr/bin/python3 - "$http_port" <<'PY' || fail "pipelining cap"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"GET /ca/root.crt HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
n = data.count(b"HTTP/1.1 200 OK")
print("pipelined responses:", n)
sys.exit(0 if n == 16 and data.count(b"Connection: close") == 1 else 1)
PY
check "pipelined requests capped at 16 per connection"

# Keep-alive apart from pipelining: a client that waits for each answer is served more than
# server.max_pipelined requests on one connection (up to server.keepalive_requests, 1000).
/usr/bin/python3 - "$http_port" <<'PY' || fail "keep-alive requests"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
for i in range(40):
    s.sendall(b"GET /ca/root.crt HTTP/1.1\r\nHost: x\r\n\r\n")
    status = f.readline()
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    f.read(int(headers["content-length"]))
    if not status.startswith(b"HTTP/1.1 200") or headers.get("connection", "").lower() == "close":
        print("request", i + 1, status, headers)
        sys.exit(1)
print("keep-alive requests on one connection: 40")
PY
check "40 keep-alive requests on one connection, one after another"

# Malformed JSON -> 400; unknown route -> 404; wrong method -> 405; local handlers are not routed.
api() {   # api NAME BODY [TOKEN] -> prints the status, body in body.json
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary "$2" "$https/api/v1/$1"
}
[ "$(api session.login '{"user": "admin", ')" = 400 ] || fail "malformed JSON: $(cat body.json)"
grep -q '"error":"invalid_input"' body.json || fail "malformed JSON body: $(cat body.json)"
[ "$(api no.such.handler '{}')" = 404 ] || fail "unknown route"
[ "$(api ca.init '{}')" = 404 ] || fail "a local handler (ca.init) is routed"
[ "$(api ca.show '{}')" = 401 ] || fail "ca.show without a session: $(cat body.json)"
[ "$(api crl.publish '{}')" = 404 ] || fail "a local handler (crl.publish) is routed"
[ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/api/v1/ra.whoami")" = 405 ] || fail "GET on the API"
[ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/nothing")" = 404 ] || fail "unknown path"
check "malformed JSON -> 400, unknown route -> 404, wrong method -> 405, local handlers not routed"

# Login over the API, then an operator call with the bearer token; without it 401.
[ "$(api session.login '{"user": "admin", "password": "wrong password, long enough"}')" = 401 ] || fail "wrong password"
[ "$(api session.login '{"user": "admin", "password": "passphrase of admin, long enough"}')" = 200 ] ||
  fail "login: $(cat body.json)"
token="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open("body.json"))["token"])')"
[ "$(api ra.whoami '{}' "$token")" = 200 ] || fail "whoami with the token: $(cat body.json)"
grep -q '"admin"' body.json || fail "whoami: $(cat body.json)"
[ "$(api ra.whoami '{}')" = 401 ] || fail "whoami without a token: $(cat body.json)"
[ "$(api ra.whoami '{}' "not-a-token")" = 401 ] || fail "whoami with a wrong token"
check "login over the API, Bearer operator call 200, without 401"

# The access log: JSON lines, no token, no password, no query string.
grep -q '"target":"/api/v1/session.login"' server.out || fail "no access log line for the login"
grep -q '"principal":"admin"' server.out || fail "no principal in the access log"
if grep -q -e "$token" -e "passphrase of admin" server.out server.err; then fail "a secret in the logs"; fi
tail -n +2 server.out | /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' ||
  fail "access log lines are not JSON"
check "access log: JSON lines without secrets"

# SIGTERM: exits 0.
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || fail "jitsuind exited $status on SIGTERM"
check "SIGTERM -> exit 0"

# A second start (with server.timeout_seconds 1) reuses the certificate (still valid, same names),
# and a client that sends one byte at a time is closed by the read timeout.
/usr/bin/python3 - "$SOURCE_DIR/config" >short.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/jitsuin.json"))
c["ca"]["profiles_dir"] = sys.argv[1] + "/profiles"
c["server"]["timeout_seconds"] = 1
print(json.dumps(c))
PY
before="$(sha256sum "$home/server/tls-chain.pem")"
"$JITSUIND" --home "$home" --config short.json --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >server2.out 2>server.err &
pid=$!
jitsuind_ports "$(jitsuind_wait "$pid" server2.out)"
/usr/bin/python3 - "$HTTP_PORT" <<'PY' || fail "a slow client was not closed by the timeout"
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
request = b"GET /ca/root.crt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
for i in range(len(request)):
    try:
        s.sendall(request[i:i + 1])
    except OSError:
        sys.exit(0)   # closed by the server
    if select.select([s], [], [], 0.3)[0]:
        data = s.recv(65536)
        sys.exit(0 if data == b"" or b" 200 " not in data else 1)
sys.exit(1)   # the whole request went through one byte at a time: no timeout
PY
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP_URL/ca/root.crt")" = 200 ] ||
  fail "not serving after a slow client"
check "a one-byte-at-a-time client is closed by the timeout, still serving"
kill -TERM "$pid"; status=0; wait "$pid" || status=$?; pid=""
[ "$status" = 0 ] || fail "second run exited $status"
[ "$before" = "$(sha256sum "$home/server/tls-chain.pem")" ] || fail "the certificate was reissued on restart"
[ ! -e "$home/server/tls.key" ] && grep -q '^pkcs11:.*object=jitsuind-tls' "$home/server/tls-key.uri" ||
  fail "the TLS key is not on the token"
check "restart keeps the certificate; its key is on the token"
echo "jitsuind_test: all passed"
