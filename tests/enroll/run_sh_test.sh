#!/usr/bin/env bash
# ./run.sh for real (CTest: run_sh): the repository's run.sh on a temp home (JITSUIN_HOME), without
# the package installation and build (JITSUIN_SKIP_BUILD=1, the built binaries), on free ports.
# First start: CA created, CRLs published, a first administrator with a generated temporary
# password that logs in over the API and must be changed; the server answers and stops on SIGTERM.
# Second start: no password shown, the same server again.
# Usage: tests/enroll/run_sh_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh" run_sh "$@"
[ "$BINDIR" = "$(dirname "$JITSUIND")" ] || fail "jitsuin and jitsuind in different folders"
show_on_failure=(run.out run.err)
home="$work/home"

start() {   # runs ./run.sh as a user would, with the home, the built binaries and free ports
  : >run.out   # emptied before the start: a restart must not read the last run's ports
  JITSUIN_HOME="$home" JITSUIN_SKIP_BUILD=1 JITSUIN_BUILD_DIR="$BINDIR" \
    bash "$SOURCE_DIR/run.sh" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >run.out 2>run.err &
  pid=$!
  pids[run]=$pid
  [[ "$(wait_served "$pid" run.out)" =~ https=127\.0\.0\.1:([0-9]+)\ http=127\.0\.0\.1:([0-9]+) ]] ||
    fail "no jitsuind ports in the output"
  https="https://127.0.0.1:${BASH_REMATCH[1]}"; http="http://127.0.0.1:${BASH_REMATCH[2]}"
  root="$home/server/root.pem"
  # What run.sh and jitsuind print for a person: the URLs and where the root to trust is.
  grep -q "the root to trust: $root" run.err || fail "the root to trust is not named"
  grep -q "API $https/api/v1/" run.err || fail "the API URL is not printed"
  grep -q "CRLs $http/crl/issuing.crl" run.err || fail "the CRL URL is not printed"
  grep -q "CA certificates $http/ca/issuing.crt" run.err || fail "the CA certificate URL is not printed"
  grep -q "OCSP $http/ocsp" run.err || fail "the OCSP URL is not printed"
  [ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/health")" = 200 ] || fail "/health"
  [ "$(curl -sS -o crl.der -w '%{http_code}' "$http/crl/issuing.crl")" = 200 ] || fail "the CRL is not served"
  cmp -s crl.der "$home/crl/issuing.crl" || fail "the CRL served is not the published one"
}
stop() { stop_served "$pid" run.err; }
api() {   # api NAME JSON [TOKEN]: the status; the body in api.out
  curl -sS --cacert "$root" -o api.out -w '%{http_code}' ${3:+-H "Authorization: Bearer $3"} -d "$2" "$https/api/v1/$1"
}

# ---------------------------------------------------------------- first start
start
grep -q 'first administrator: admin, temporary password' run.out || fail "no first administrator on first start"
password="$(grep -A1 'first administrator: admin, temporary password' run.out | tail -n1 | tr -d ' ')"
[ "${#password}" -ge 12 ] || fail "the password shown is too short: '$password'"
grep -rqF "$password" "$home" && fail "the generated password is stored in clear under the home"
check "first start: CA, CRLs, URLs, root, a generated password for admin; the server answers"

# The password logs in, and is temporary: only the password change (and whoami) until changed.
[ "$(api session.login "{\"user\":\"admin\",\"password\":\"$password\"}")" = 200 ] || fail "login: $(cat api.out)"
[ "$(jget api.out 'j["password_change_required"]')" = True ] || fail "the password is not temporary: $(cat api.out)"
token="$(jget api.out 'j["token"]')"
[ "$(api ra.operator.list '{}' "$token")" = 403 ] || fail "a temporary password allowed operator-list: $(cat api.out)"
# README "Running it": the first login and the password change with the command line.
printf '%s\n' "$password" >first.pw
printf '%s\n' "my own passphrase, long" >own.pw
export JITSUIN_SESSION_FILE="$work/admin.session"
"$JITSUIN" --home "$home" login --user admin --password-file first.pw >login.out 2>&1 || fail "login: $(cat login.out)"
"$JITSUIN" --home "$home" ra passwd --current-file first.pw --new-file own.pw >passwd.out 2>&1 ||
  fail "ra passwd: $(cat passwd.out)"
[ "$(api session.login '{"user":"admin","password":"my own passphrase, long"}')" = 200 ] || fail "login: $(cat api.out)"
token="$(jget api.out 'j["token"]')"
[ "$(api ra.operator.list '{}' "$token")" = 200 ] || fail "operator-list after passwd: $(cat api.out)"
check "the shown password logs in over the API, must be changed first, then the account works"
stop
check "SIGTERM stops it (exit 0)"

# ---------------------------------------------------------------- second start
start
grep -qi 'password' run.out && fail "a password shown on the second start"
grep -q 'first administrator' run.out && fail "a first administrator on the second start"
[ "$(api session.login '{"user":"admin","password":"my own passphrase, long"}')" = 200 ] || fail "login: $(cat api.out)"
stop
check "second start: no password, the same CA and account, SIGTERM stops it"
echo "run_sh: all checks passed"
