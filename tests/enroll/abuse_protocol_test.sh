#!/usr/bin/env bash
# Issue 20, items 13 and 16: what jitsuind takes at the protocol level, on a fresh temp home
# (embedded SoftHSM2 token, SQLite file), the server on 127.0.0.1 port 0.
#  13: request bodies (API, /web/login, /web/logout) through the CLI's strict JSON parser: a key
#      given twice and a number out of range (1e400) are 400 invalid_input; a 500 (here: a table
#      renamed under the running server) carries no exception text, SQL or path, only an id that the
#      server's log line with the text carries too.
#  16: TLS 1.2 with ECDHE and AEAD suites only (Mozilla "intermediate"), every TLS 1.2 suite OpenSSL
#      knows tried with openssl s_client; TLS 1.3 still served. An HTTP/1.1 request without Host,
#      with two Hosts or with a Host that is not host[:port] is 400 (RFC 9112 section 3.2);
#      HTTP/1.0 without Host is served.
# Usage: tests/enroll/abuse_protocol_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: abuse_protocol)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" abuse_protocol_test "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
server_config >server.json
start server.json

# raw.py tls|plain PORT: sends standard input as it is and prints the status code of the answer
# ("closed" when the server closed the connection without one); the body in raw.body.
cat >raw.py <<'PY'
import socket, ssl, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
if mode == "tls":
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
s.sendall(sys.stdin.buffer.read())
answer = b""
try:
    while b"\r\n\r\n" not in answer:
        chunk = s.recv(65536)
        if not chunk: break
        answer += chunk
except (OSError, ssl.SSLError):
    pass
open("raw.body", "wb").write(answer.partition(b"\r\n\r\n")[2])
print(answer.split(b" ")[1].decode() if answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) else "closed")
PY
raw() { /usr/bin/python3 raw.py "$@"; }
jget() { /usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
api() {   # api NAME BODY [TOKEN] -> the status; the answer in body.json
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary "$2" "$https/api/v1/$1"
}
password="passphrase of admin, long enough"

# ---------------------------------------------------------------- 13: duplicate keys, 1e400
# Last-wins would log in as admin with the first "user" ignored: refused, naming the key.
[ "$(api session.login "{\"user\": \"nobody\", \"password\": \"$password\", \"user\": \"admin\"}")" = 400 ] ||
  fail "a key given twice: $(cat body.json)"
[ "$(jget body.json 'j["error"]')" = invalid_input ] &&
  jget body.json 'j["message"]' | grep -q "^the request body: the key 'user' appears twice in the top-level object" ||
  fail "a key given twice: unclear answer $(cat body.json)"
[ "$(api session.login "{\"user\": \"admin\", \"password\": \"$password\", \"n\": {\"a\": 1, \"a\": 1}}")" = 400 ] &&
  jget body.json 'j["message"]' | grep -q "the key 'a' appears twice in the object at /n" ||
  fail "a key given twice in a nested object: $(cat body.json)"
check "API: a key given twice -> 400 naming the key and where"
for n in 1e400 -1e400 123456789e999; do
  [ "$(api session.login "{\"user\": \"admin\", \"password\": \"$password\", \"x\": $n}")" = 400 ] ||
    fail "$n: $(cat body.json)"
  [ "$(jget body.json 'j["error"]')" = invalid_input ] &&
    [ "$(jget body.json 'j["message"]')" = "the request body holds a number out of range: number overflow parsing '$n'" ] ||
    fail "$n: unclear answer $(cat body.json)"
done
check "API: 1e400 -> 400 invalid_input"

# /web/login and /web/logout: the same parser.
web() {   # web PATH BODY [curl options...] -> the status; the answer in body.json
  local path="$1" body="$2"; shift 2
  curl -sS --cacert "$root" -o body.json -w '%{http_code}' -H 'Content-Type: application/json' "$@" \
    --data-binary "$body" "$https$path"
}
[ "$(web /web/login "{\"kind\": \"company\", \"user\": \"admin\", \"password\": \"$password\", \"kind\": \"operator\"}")" = 400 ] &&
  jget body.json 'j["message"]' | grep -q "the key 'kind' appears twice" || fail "/web/login, a key twice: $(cat body.json)"
[ "$(web /web/login "{\"kind\": \"operator\", \"user\": \"admin\", \"password\": \"$password\", \"x\": 1e400}")" = 400 ] ||
  fail "/web/login 1e400: $(cat body.json)"
[ "$(web /web/login "{\"kind\": \"operator\", \"user\": \"admin\", \"password\": \"$password\"}" -c jar.txt)" = 200 ] ||
  fail "/web/login: $(cat body.json)"
csrf="$(jget body.json 'j["csrf_token"]')"
[ "$(web /web/logout '{"everywhere": false, "everywhere": true}' -b jar.txt -H "X-CSRF-Token: $csrf")" = 400 ] &&
  jget body.json 'j["message"]' | grep -q "the key 'everywhere' appears twice" || fail "/web/logout, a key twice: $(cat body.json)"
[ "$(curl -sS --cacert "$root" -o body.json -w '%{http_code}' -b jar.txt "$https/web/session")" = 200 ] ||
  fail "the refused logout ended the session: $(cat body.json)"
[ "$(web /web/logout '{"everywhere": false}' -b jar.txt -H "X-CSRF-Token: $csrf")" = 200 ] || fail "/web/logout: $(cat body.json)"
check "/web/login and /web/logout: a key given twice or 1e400 -> 400, the session kept"

# ---------------------------------------------------------------- 16: TLS suites
# Every suite OpenSSL has for TLS 1.2 (the client at security level 0, so that it offers each):
# only ECDHE-ECDSA with AES-GCM or ChaCha20-Poly1305 is taken (the key is P-256).
accepted=()
for c in $(openssl ciphers 'ALL:@SECLEVEL=0' | tr ':' '\n'); do
  case "$c" in TLS_*) continue ;; esac   # TLS 1.3 suites
  if openssl s_client -connect "127.0.0.1:$tls_port" -tls1_2 -cipher "$c:@SECLEVEL=0" </dev/null >s.txt 2>&1 &&
     grep -q "Cipher is $c" s.txt; then
    accepted+=("$c")
  fi
done
[ "$(printf '%s\n' "${accepted[@]}" | sort | tr '\n' ' ')" = \
  "ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305 " ] ||
  fail "TLS 1.2 suites accepted: ${accepted[*]}"
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 AES128-GCM-SHA256; do
  if openssl s_client -connect "127.0.0.1:$tls_port" -tls1_2 -cipher "$c" </dev/null >s.txt 2>&1; then
    fail "TLS 1.2 with $c was accepted: $(cat s.txt)"
  fi
done
openssl s_client -connect "127.0.0.1:$tls_port" -tls1_3 </dev/null >s.txt 2>&1 && grep -q "New, TLSv1.3, Cipher is TLS_" s.txt ||
  fail "TLS 1.3: $(cat s.txt)"
[ "$(curl -sS --cacert "$root" --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' "$https/health")" = 200 ] ||
  fail "curl over TLS 1.2"
check "TLS 1.2: only ${accepted[*]}; CBC, non-ECDHE refused; TLS 1.3 served"

# ---------------------------------------------------------------- 16: Host
# /health is on the TLS listener only; the published files (answered before the routes when the
# request is a plain GET) on both.
for p in "tls $tls_port" "plain $http_port"; do
  paths="/crl/root.crl /ca/issuing.crt"
  [ "${p%% *}" = tls ] && paths="/health $paths"
  for t in $paths; do
    [ "$(printf "GET $t HTTP/1.1\r\n\r\n" | raw $p)" = 400 ] || fail "HTTP/1.1 without Host, $t over $p: $(cat raw.body)"
    [ "$(jget raw.body 'j["error"]')" = invalid_input ] || fail "HTTP/1.1 without Host: $(cat raw.body)"
    [ "$(printf "GET $t HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" | raw $p)" = 400 ] || fail "two Hosts, $t over $p"
    [ "$(printf "GET $t HTTP/1.1\r\nHost: a/b\r\n\r\n" | raw $p)" = 400 ] || fail "Host a/b, $t over $p"
    [ "$(printf "GET $t HTTP/1.0\r\n\r\n" | raw $p)" = 200 ] || fail "HTTP/1.0 without Host, $t over $p: $(cat raw.body)"
    for h in "127.0.0.1:$http_port" "[::1]:8443" "localhost" ""; do
      [ "$(printf "GET $t HTTP/1.1\r\nHost: $h\r\n\r\n" | raw $p)" = 200 ] || fail "Host '$h', $t over $p"
    done
  done
done
[ "$(printf "POST /api/v1/session.login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" |
     raw tls "$tls_port")" = 400 ] || fail "an API call without Host"
check "HTTP/1.1 without Host, two Hosts, Host a/b -> 400; HTTP/1.0 without Host served"

# ---------------------------------------------------------------- 13: a 500 says nothing but its id
# The ra_operators table renamed under the running server (a damaged or foreign schema): the login's
# SQL fails inside jitsuind.
[ "$(api session.login "{\"user\": \"admin\", \"password\": \"$password\"}")" = 200 ] || fail "login: $(cat body.json)"
/usr/bin/python3 - "$home/jitsuin.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("ALTER TABLE ra_operators RENAME TO ra_operators_moved")
db.commit()
PY
[ "$(api session.login "{\"user\": \"admin\", \"password\": \"$password\"}")" = 500 ] || fail "no 500: $(cat body.json)"
id="$(jget body.json 'j["id"]')"
[ "$(jget body.json 'sorted(j.items())')" = "[('error', 'internal'), ('id', '$id'), ('message', 'internal error')]" ] &&
  [[ "$id" =~ ^[0-9a-f]{16}$ ]] || fail "the 500's body: $(cat body.json)"
if grep -qi -e operators -e sql -e "$home" -e '/' body.json; then fail "the 500's body tells: $(cat body.json)"; fi
grep -q "^jitsuind: internal error $id: database: .*no such table: ra_operators" server.err ||
  fail "no log line with the id $id"
[ "$(grep -c "$id" server.err)" = 1 ] || fail "the id $id is logged more than once"
# Each 500 its own id.
[ "$(api session.login "{\"user\": \"admin\", \"password\": \"$password\"}")" = 500 ] && [ "$(jget body.json 'j["id"]')" != "$id" ] ||
  fail "a second 500: $(cat body.json)"
check "a 500 answers {error: internal, message: internal error, id}; the text is in the log under the id ($id)"

stop
echo "abuse_protocol_test: PASSED"
