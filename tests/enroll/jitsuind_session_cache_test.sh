#!/usr/bin/env bash
# Issue 9 (i9perf): jitsuind answers bearer calls from a per-connection cache of the sessions it
# read (ra/src/session_cache.h), kept only while the database is unchanged. A session ended, an
# operator locked, unlocked or disabled by the CLI — another process, on its own connection — is
# seen by the very next API request of a token that the server had just answered from its cache.
# The built binaries on a fresh temp home, jitsuind on 127.0.0.1 port 0 (one API connection, so
# that every call meets the same cache).
# Usage: tests/enroll/jitsuind_session_cache_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]
#        (CTest: jitsuind_session_cache)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" jitsuind_session_cache "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
for who in admin bob; do printf '%s\n' "passphrase of $who, long enough" >"$who.pw"; done
printf '%s\n' "first password for bob from admin" >bob.first
printf '%s\n' "not the password of bob at all" >wrong.pw
as() {   # as WHO ARGS...: the CLI with WHO's session file
  local who="$1"; shift
  JITSUIN_SESSION_FILE="$work/$who.session" "$JITSUIN" --home "$home" "$@"
}
as admin ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
as admin login --user admin --password-file admin.pw >/dev/null
as admin ra operator-add --name bob --role operator --password-file bob.first >/dev/null
as bob login --user bob --password-file bob.first >/dev/null
as bob ra passwd --current-file bob.first --new-file bob.pw >/dev/null
as bob logout >/dev/null

server_config api_connections=1 >server.json
start server.json
login() {   # a new API session of bob: prints the token
  curl -sS --cacert "$root" -H 'Content-Type: application/json' \
    --data-binary '{"user": "bob", "password": "passphrase of bob, long enough"}' "$https/api/v1/session.login" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
whoami() {   # whoami TOKEN: prints the status, the body in whoami.json
  curl -sS --cacert "$root" -o whoami.json -w '%{http_code}' -H "Authorization: Bearer $1" --data-binary '{}' \
    "$https/api/v1/ra.whoami"
}
served() {   # served TOKEN: three answers in a row (the last two from the cache)
  local i
  for i in 1 2 3; do
    [ "$(whoami "$1")" = 200 ] || fail "ra.whoami: $(cat whoami.json)"
  done
  grep -q '"bob"' whoami.json || fail "ra.whoami: $(cat whoami.json)"
}
refused() {   # refused TOKEN TEXT: the next request is 401 naming TEXT
  local status; status="$(whoami "$1")"
  [ "$status" = 401 ] && grep -q "$2" whoami.json || fail "expected 401 ($2), got $status: $(cat whoami.json)"
}

token="$(login)"
served "$token"
printf '%s\n' "$token" >api.session
JITSUIN_SESSION_FILE="$work/api.session" "$JITSUIN" --home "$home" logout >/dev/null
refused "$token" "the session has ended"
check "a session ended by jitsuin logout (another process) is refused on the next API request"

token="$(login)"
served "$token"
for _ in 1 2 3 4 5; do as bob login --user bob --password-file wrong.pw >/dev/null 2>&1 && fail "a wrong password logged in"; done
refused "$token" "locked or disabled"
as admin ra operator-unlock --name bob >/dev/null
served "$token"
check "an operator locked by failed CLI logins is refused at once, and served again once unlocked"

as admin ra operator-disable --name bob >/dev/null   # which also ends bob's sessions
refused "$token" 'ended\|disabled'
check "an operator disabled by the CLI is refused on the next API request"
grep -q '"principal":"bob"' server.out || fail "no principal in the access log"
check "the access log names the session's holder"
stop
