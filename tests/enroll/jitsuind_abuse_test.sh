#!/usr/bin/env bash
# jitsuind under abuse and load: the built binaries on a fresh temp home (embedded SoftHSM2 token,
# SQLite file), the server on 127.0.0.1 port 0. Each abuse leaves the state as it was (row counts
# of every table, the audit head) and the server serving. What jitsuind_test.sh checks already
# (one huge header, a Content-Length body over the limit, the plain traversal forms, a slow plain
# HTTP client) is not repeated here.
# Usage: tests/enroll/jitsuind_abuse_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: jitsuind_abuse)
set -euo pipefail
# 500 connections from wrk and as many on the server side.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" jitsuind_abuse_test "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null

# The state abuse must not change: every table's row count and the audit log's head.
state() {
  /usr/bin/python3 - "$home/jitsuin.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
    print(t, db.execute('SELECT count(*) FROM "%s"' % t.replace('"', '""')).fetchone()[0])
PY
  "$JITSUIN" --home "$home" audit verify
}
serving() { [ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/health")" = 200 ]; }
unchanged() {   # unchanged WHAT: the state is the baseline and the server still answers
  kill -0 "$pid" 2>/dev/null || fail "jitsuind died after $1"
  serving || fail "not serving after $1"
  [ "$(state)" = "$baseline" ] || fail "state changed after $1: $(diff <(echo "$baseline") <(state) || true)"
  check "$1: state unchanged, still serving"
}

# raw.py tls|plain PORT [--slow SECONDS]: sends standard input as it is (one byte each SECONDS with
# --slow) and prints the status code of the answer, "closed" when the server closed the connection
# before answering (or while a slow client was still sending), "open" when it neither answered nor closed.
cat >raw.py <<'PY'
import socket, ssl, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
slow = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--slow" else None
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
if mode == "tls":
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
try:
    if slow is None:
        s.sendall(data)
    else:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(slow)
        print("open"); sys.exit(0)   # the whole request went through, slowly
    answer = b""
    while b"\r\n" not in answer:
        chunk = s.recv(65536)
        if not chunk: break
        answer += chunk
except (OSError, ssl.SSLError):
    print("closed"); sys.exit(0)
print(answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/1.1 ") else "closed")
PY
raw() { /usr/bin/python3 raw.py "$@"; }

# ---------------------------------------------------------------- run A: abuse, timeout 2 s
server_config timeout_seconds=2 >short.json
start short.json
serving || fail "/health"
printf '{"user": "admin", "password": "passphrase of admin, long enough"}' >login.json
curl -sS --cacert "$root" -o body.json --data-binary @login.json "$https/api/v1/session.login"
token="$(/usr/bin/python3 -c 'import json; print(json.load(open("body.json"))["token"])')"
baseline="$(state)"

# Header flood: many small headers (together over the 8 KiB limit) -> 431, over TLS and plain HTTP.
flood="$(for i in $(seq 1 1000); do printf 'X-H%d: v\r\n' "$i"; done)"
[ "$(printf 'GET /health HTTP/1.1\r\nHost: x\r\n%s\r\n' "$flood" | raw tls "$tls_port")" = 431 ] || fail "1000 headers over TLS"
[ "$(printf 'GET /crl/root.crl HTTP/1.1\r\nHost: x\r\n%s\r\n' "$flood" | raw plain "$http_port")" = 431 ] ||
  fail "1000 headers over HTTP"
# A header line that never ends -> 431 once over the limit.
[ "$(printf 'GET /health HTTP/1.1\r\nX-Long: %s' "$(head -c 100000 /dev/zero | tr '\0' a)" | raw tls "$tls_port")" = 431 ] ||
  fail "an endless header line"
unchanged "header flood -> 431"

# Bodies over the limit: chunked (no Content-Length), and a Content-Length of 10 GB that is never sent.
head -c 2000000 /dev/zero | tr '\0' 'a' >big.json
code="$(curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
        --data-binary @big.json "$https/api/v1/session.login" || true)"
[ "$code" = 413 ] || fail "chunked body over the limit: $code"
grep -q '"error":"payload_too_large"' body.json || fail "413 body: $(cat body.json)"
[ "$(printf 'POST /api/v1/session.login HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n{' | raw tls "$tls_port")" = 413 ] ||
  fail "Content-Length 10 GB"
unchanged "bodies over the limit -> 413"

# Slow clients (server.timeout_seconds 2): a request one byte per second over TLS, a TLS
# handshake one byte per second, and a plain HTTP request: each closed by the server long before it is through.
req='GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 0123456789\r\n\r\n'
[ "$(printf "$req" | raw tls "$tls_port" --slow 1)" = closed ] || fail "a TLS request at one byte per second was not cut"
[ "$(printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefghijklmnopqrstuvwxyz' | raw plain "$tls_port" --slow 1)" = closed ] ||
  fail "a TLS handshake at one byte per second was not cut"
[ "$(printf "$req" | raw plain "$http_port" --slow 1)" = closed ] || fail "an HTTP request at one byte per second was not cut"
unchanged "one byte per second -> closed by the timeout"

# Malformed JSON -> 400 saying what is wrong, whatever the shape.
api() {   # api NAME BODY_FILE [TOKEN] -> the status; the answer in body.json
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "$3")
  curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary @"$2" "$https/api/v1/$1"
}
message() { /usr/bin/python3 -c 'import json; print(json.load(open("body.json"))["message"])'; }
printf '{"user": "admin", ' >bad1.json
printf '{"user": "admin"} trailing' >bad2.json
printf '{"user": "\xff\xfe"}' >bad3.json
printf '{"user": admin}' >bad4.json
head -c 500000 /dev/zero | tr '\0' '[' >bad5.json
for f in bad1 bad2 bad3 bad4 bad5; do
  [ "$(api session.login $f.json)" = 400 ] || fail "$f: $(cat body.json)"
  grep -q '"error":"invalid_input"' body.json || fail "$f: $(cat body.json)"
  message | grep -q '^the request body is not valid JSON: parse error at line 1, column [0-9]*: ' ||
    fail "$f: unclear message: $(cat body.json)"
done
printf '[1, 2]' >array.json
[ "$(api session.login array.json)" = 400 ] && [ "$(message)" = "the request body must be a JSON object, not array" ] ||
  fail "a JSON array: $(cat body.json)"
unchanged "malformed JSON -> 400 naming the line and column"

# Missing or wrong tokens -> 401 with WWW-Authenticate, for an operator call.
printf '{}' >empty.json
for h in "" "Authorization: Bearer not-a-token" "Authorization: Basic YWRtaW46cGFzcw==" "Authorization: Bearer " \
         "Authorization: bearer $token" "Authorization: Bearer ${token}x" "Authorization: Bearer $(head -c 6000 /dev/zero | tr '\0' A)"; do
  [ "$(api ra.whoami empty.json "$h")" = 401 ] || fail "'${h:0:40}': $(cat body.json)"
  grep -q '"error":"unauthenticated"' body.json || fail "'${h:0:40}': $(cat body.json)"
done
curl -sS --cacert "$root" -D h.txt -o /dev/null -d '{}' "$https/api/v1/ra.whoami"
grep -qi '^www-authenticate: Bearer' h.txt || fail "no WWW-Authenticate on 401"
[ "$(api ra.whoami empty.json "Authorization: Bearer $token")" = 200 ] || fail "the real token: $(cat body.json)"
unchanged "missing or wrong token -> 401"

# Path traversal beyond jitsuind_test.sh's forms: double-encoded, backslash (raw and encoded),
# encoded slash, dot segments, absolute form. Never the database: 404 (400 where the HTTP parser
# itself refuses the request line: a raw backslash or NUL is not allowed in a request target).
for t in '/crl/%252e%252e/jitsuin.db' '/crl/%252e%252e%252fjitsuin.db' '/crl/..%5cjitsuin.db' '/crl/%5c..%5cjitsuin.db' \
         '/crl%2fissuing.crl' '/crl/./issuing.crl' '/./crl/issuing.crl' '/crl//issuing.crl' '/crl/issuing.crl/..' \
         '/crl/.%2e/jitsuin.db' '/crl/issuing.crl%2500' '/crl/issuing.crl;/../../jitsuin.db' '/%2e%2e/%2e%2e/etc/passwd'; do
  for base in "$http" "$https"; do
    code="$(curl -sS --cacert "$root" --path-as-is -o body.bin -w '%{http_code}' "$base$t")"
    [ "$code" = 404 ] || fail "$base$t: $code"
  done
done
for t in '/crl/..\jitsuin.db' 'http://127.0.0.1/crl/../jitsuin.db' '/crl/issuing.crl\x00' '/crl/..\x00/jitsuin.db'; do
  for p in "tls $tls_port" "plain $http_port"; do
    code="$(printf "GET $t HTTP/1.1\r\nHost: x\r\n\r\n" | raw $p)"
    case "$code" in 404|400) ;; *) fail "$t over $p: $code" ;; esac
  done
done
unchanged "path traversal -> 404"

stop

# ---------------------------------------------------------------- run B: load, then SIGTERM under load
server_config timeout_seconds=30 >long.json
start long.json
baseline="$(state)"
# 500 concurrent keep-alive connections (each closed after server.keepalive_requests requests, and
# opened again): no socket error, no answer other than 2xx.
wrk_check() {   # wrk_check URL
  wrk -t2 -c500 -d5s --timeout 30s "$1" >wrk.txt 2>&1 || fail "wrk $1: $(cat wrk.txt)"
  local n; n="$(awk '/requests in/ {print $1}' wrk.txt)"
  [ -n "$n" ] && [ "$n" -gt 500 ] || fail "wrk $1 made too few requests: $(cat wrk.txt)"
  if grep -q -e 'Socket errors' -e 'Non-2xx' wrk.txt; then fail "wrk $1 saw errors: $(cat wrk.txt)"; fi
  check "wrk -c500 $1: $n requests, no errors"
}
wrk_check "$https/health"
wrk_check "$https/crl/issuing.crl"
wrk_check "$http/crl/issuing.crl"
unchanged "500 concurrent connections"

# SIGTERM while wrk runs and eight logins (each ~0.1 s of scrypt, run one at a time) are in flight
# on connections accepted before the signal (their TLS handshakes done, their requests sent), and a
# ninth login is partly sent (its end follows once the eight are answered): all nine get whole 200
# answers with a session token, new connections are refused, the exit is 0.
wrk -t2 -c100 -d20s --timeout 30s "$https/crl/issuing.crl" >wrk_term.txt 2>&1 &
pids+=($!)
sleep 2
/usr/bin/python3 - "$tls_port" "$pid" <<'PY' || fail "SIGTERM with requests in flight"
import json, os, signal, socket, ssl, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
body = json.dumps({"user": "admin", "password": "passphrase of admin, long enough"}).encode()
request = (b"POST /api/v1/session.login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
conns = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60)) for _ in range(9)]
for c in conns[:8]:
    c.sendall(request)
half = len(request) - 10
conns[8].sendall(request[:half])   # a ninth request, partly sent at the signal
os.kill(pid, signal.SIGTERM)
def answer(i, c):
    data = b""
    while True:
        try:
            chunk = c.recv(65536)
        except (ssl.SSLError, OSError) as e:
            break
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        sys.exit("login %d: no 200 answer: %r" % (i, data[:200]))
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    if len(rest) != length or "token" not in json.loads(rest):
        sys.exit("login %d: incomplete answer: %r" % (i, data[:300]))
for i, c in enumerate(conns[:8]):
    answer(i, c)
conns[8].sendall(request[half:])   # its end only once the eight are answered
answer(8, conns[8])
print("eight logins in flight at SIGTERM and one being sent: nine whole 200 answers")
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        print("new connections refused"); sys.exit(0)
    time.sleep(0.1)
sys.exit("new connections still accepted after SIGTERM")
PY
status=0; wait "$pid" || status=$?; pid=""
[ "$status" = 0 ] || fail "jitsuind exited $status on SIGTERM under load"
wait "${pids[0]}" || true
# wrk's connections that were answered before the stop were answered in full: no non-2xx answer
# (its socket errors are the connections refused after the stop, expected).
if grep -q 'Non-2xx' wrk_term.txt; then fail "non-2xx answers while stopping: $(cat wrk_term.txt)"; fi
check "SIGTERM under load: in-flight requests answered, new connections refused, exit 0"
echo "jitsuind_abuse_test: all passed"
