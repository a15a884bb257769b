#!/usr/bin/env bash
# API calls in parallel (server.api_connections): a call blocked inside its handler does not stop
# independent calls on other connections. The built binaries on a fresh temp home, jitsuind on
# 127.0.0.1 port 0. The block is real and deterministic: another process holds the embedded
# token's lock (HOME/token.lock), so an administrator's ca.issue waits inside the handler for the
# token (hsm.lock_wait_seconds 300) — seen from outside by its shared flock on HOME/token.wait,
# which a waiter for the token holds. While it waits, ra.whoami and ra.operator.list on other
# connections are answered; with the calls serialised they would wait for the lock's holder,
# which lets go only after they are answered (curl gives up after 60 s: the test fails).
# (The server's TLS key is in a file here: with it on the token, new connections would wait for
# the token's lock in their handshake.) Then the lock is let go and ca.issue completes. (server.api_connections 1, one call at a time,
# is measured against the default in tests/bench/bench_api.sh.)
# Usage: tests/enroll/api_parallel_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: jitsuind_api_parallel)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" jitsuind_api_parallel "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
config() {   # config API_CONNECTIONS > FILE
  /usr/bin/python3 - "$SOURCE_DIR/config" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/jitsuin.json"))
c["ca"]["profiles_dir"] = sys.argv[1] + "/profiles"
c["hsm"]["lock_wait_seconds"] = 300
c["server"]["api_connections"] = int(sys.argv[2])
c["server"]["timeout_seconds"] = 600
c["server"]["tls_key"] = "file"   # handshakes must not wait for the token the test holds
print(json.dumps(c))
PY
}
api() {   # api NAME BODY OUT [CURL ARGS...] -> prints the status, the body in OUT
  local name="$1" body="$2" out="$3"
  shift 3
  curl -sS --cacert "$root" -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" "$@" --data-binary "$body" "$https/api/v1/$name"
}
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=x" -out leaf.csr 2>/dev/null
/usr/bin/python3 -c 'import json; print(json.dumps({"profile": "individual-signing", "csr": open("leaf.csr").read(),
  "subject": {"organization": "Sakura Kensetsu", "common_name": "Ken Sato"}}))' >issue.json

hold_token() {   # another process takes the token's lock: sets lock_pid
  /usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(600)' \
    "$home/token.lock" >lock.out &
  lock_pid=$!
  pids+=("$lock_pid")
  for _ in $(seq 1 100); do grep -q locked lock.out && break; sleep 0.1; done
  grep -q locked lock.out || fail "could not take the token's lock"
}
issue_waiting() {   # ca.issue in the background until it waits for the token: sets issue_pid
  api ca.issue @issue.json issued.json --max-time 500 >issue.status &
  issue_pid=$!
  pids+=("$issue_pid")
  # A waiter for the token holds a shared flock on HOME/token.wait: an exclusive one fails then.
  for _ in $(seq 1 600); do
    [ -e "$home/token.wait" ] && ! flock -n -x "$home/token.wait" true && return 0
    kill -0 "$issue_pid" 2>/dev/null || fail "ca.issue ended before it waited for the token: $(cat issue.status issued.json)"
    sleep 0.1
  done
  fail "ca.issue did not wait for the token"
}

config 0 >parallel.json
start parallel.json
token="$(curl -sS --cacert "$root" -H 'Content-Type: application/json' \
  --data-binary '{"user": "admin", "password": "passphrase of admin, long enough"}' "$https/api/v1/session.login" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
hold_token
issue_waiting
[ "$(api ra.whoami '{}' whoami.json --max-time 60 || true)" = 200 ] ||
  fail "ra.whoami waited for ca.issue (API calls serialised?): $(cat whoami.json 2>/dev/null)"
grep -q '"admin"' whoami.json || fail "ra.whoami: $(cat whoami.json)"
[ "$(api ra.operator.list '{}' list.json --max-time 60 || true)" = 200 ] || fail "ra.operator.list waited for ca.issue"
kill -0 "$issue_pid" 2>/dev/null || fail "ca.issue is no longer waiting: $(cat issue.status issued.json)"
check "while ca.issue waits inside its handler for the token, ra.whoami and ra.operator.list are answered"
kill "$lock_pid"; wait "$lock_pid" 2>/dev/null || true
wait "$issue_pid" || fail "ca.issue: curl failed"
[ "$(cat issue.status)" = 200 ] || fail "ca.issue after the token was let go: $(cat issue.status) $(cat issued.json)"
grep -q '"serial"' issued.json || fail "ca.issue: $(cat issued.json)"
check "the token let go: ca.issue completes (200)"
stop

echo "jitsuind_api_parallel: all passed"
