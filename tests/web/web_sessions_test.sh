#!/usr/bin/env bash
# Browser sessions over time (CTest web_sessions): a cookie session unused for longer than
# server.web_idle_minutes is refused and ended in the database too (its token, read from curl's
# cookie jar, no longer works as a bearer token); a cookie from before a restart of jitsuind is
# refused (the CSRF key and the idle clock are the process's). curl plays the browser.
# Usage: tests/web/web_sessions_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../enroll/jitsuind_lib.sh" web_sessions "$1" "$2" "$3"
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
server_config web_idle_minutes=1 >idle.json

login() {   # login: a fresh cookie jar and the CSRF token in csrf.txt
  rm -f jar.txt
  /usr/bin/python3 -c 'import json,sys; print(json.dumps({"kind": "operator", "user": "admin", "password": open("admin.pw").read().strip()}))' >login.json
  curl -sS --cacert "$root" -c jar.txt -H 'Content-Type: application/json' --data-binary @login.json "$https/web/login" >login.out
  /usr/bin/python3 -c 'import json; print(json.load(open("login.out"))["csrf_token"])' >csrf.txt
}
whoami() {   # whoami: the status of ra.whoami with the cookie and the CSRF header
  curl -sS --cacert "$root" -b jar.txt -o whoami.out -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $(cat csrf.txt)" --data-binary '{}' "$https/api/v1/ra.whoami"
}
bearer() {   # bearer: the status of ra.whoami with the cookie's token as a bearer token (header from a file)
  printf 'Authorization: Bearer %s\n' "$(awk '$6 == "__Host-jitsuin" {print $7}' jar.txt)" >bearer.hdr
  curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' -H @bearer.hdr -H 'Content-Type: application/json' \
    --data-binary '{}' "$https/api/v1/ra.whoami"
}

start idle.json
login
[ "$(whoami)" = 200 ] || fail "a fresh browser session: $(cat whoami.out)"
[ "$(bearer)" = 200 ] || fail "the session's token as a bearer token"
check "a fresh browser session works"
sleep 65   # idle past server.web_idle_minutes = 1
[ "$(whoami)" = 401 ] && grep -q "idle" whoami.out || fail "an idle browser session: $(cat whoami.out)"
[ "$(bearer)" = 401 ] || fail "the idle session is still live in the database"
check "after 65 s unused (web_idle_minutes 1) the browser session is refused and ended in the database"

login
[ "$(whoami)" = 200 ] || fail "a second browser session"
stop
rm -f server.out   # start() waits for the new server's first line in it, not the old one's
start idle.json
code="$(curl -sS --cacert "$root" -b jar.txt -o session.out -w '%{http_code}' "$https/web/session")"
[ "$code" = 401 ] || fail "GET /web/session with a cookie from before the restart: $code $(cat session.out)"
[ "$(whoami)" = 403 ] || fail "the CSRF token from before the restart: $(cat whoami.out)"
check "a cookie from before a restart of jitsuind is refused (401), and so is its old CSRF token (403)"
stop
echo "web_sessions: all passed"
