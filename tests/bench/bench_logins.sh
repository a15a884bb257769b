#!/usr/bin/env bash
# /health and OCSP latency under concurrent logins (issue 20, item 3): p99 of /health (HTTPS) and
# of OCSP (POST /ocsp, plain HTTP), each asked SAMPLES times one at a time on a keep-alive
# connection, first unloaded (the baseline), then while LOGINS clients log in without pause (real
# scrypt, each client on a keep-alive connection of its own), against one jitsuind with its
# defaults (two I/O threads on two cores) and the authentication rate limits raised out of the
# way. Prints both p99s and their ratio loaded / unloaded; not a test assertion (abuse_slow is).
#
# Usage: bench_logins.sh [--jitsuin PATH] [--jitsuind PATH] [--logins N] [--samples N] [--keep]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
jitsuin="$src/build/enroll/jitsuin"
jitsuind="$src/build/enroll/jitsuind"
logins=30
samples=1000
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jitsuin) jitsuin="$2"; shift 2 ;;
    --jitsuind) jitsuind="$2"; shift 2 ;;
    --logins) logins="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench_logins: unknown argument $1" >&2; exit 2 ;;
  esac
done
for b in "$jitsuin" "$jitsuind"; do [ -x "$b" ] || { echo "bench_logins: no binary $b (build first)" >&2; exit 1; }; done
unset JITSUIN_CONFIG JITSUIN_CA_PIN
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-logins.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
umask 077
fail() { echo "bench_logins: $*" >&2; exit 1; }
home="$work/home"
export JITSUIN_SESSION_FILE="$work/admin.session"
"$jitsuin" --home "$home" ca init >/dev/null
"$jitsuin" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$jitsuin" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
"$jitsuin" --home "$home" login --user admin --password-file admin.pw >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=Leaf" -out leaf.csr 2>/dev/null
printf '{"organization": "Example Kensetsu", "common_name": "Leaf"}\n' >leaf.json
"$jitsuin" --home "$home" ca issue --profile individual-signing --csr leaf.csr --subject leaf.json --out leaf.pem >/dev/null
openssl x509 -inform DER -in "$home/crl/issuing.crt" -out issuing.pem
openssl ocsp -issuer issuing.pem -cert leaf.pem -no_nonce -reqout ocsp.der >/dev/null 2>&1
printf '{"user": "admin", "password": "passphrase of admin, long enough"}' >login.json

source "$src/tests/enroll/jitsuind_start.sh"
JITSUIND="$jitsuind"
test_config server.json server.auth_rate_per_address=1000000 server.auth_rate_per_account=1000000
start_jitsuind "$home" server --config server.json
pid="$JITSUIND_PID"
probe() { /usr/bin/python3 "$src/tests/enroll/latency_under_logins.py" "$HTTPS_URL" "$HTTP_URL" "$ROOT_PEM" login.json ocsp.der "$1" "$samples"; }
probe 0 >unloaded.json || fail "the unloaded probes failed"
probe "$logins" >loaded.json || fail "the probes under $logins logins failed"
/usr/bin/python3 - "$logins" <<'PY'
import json, sys
u, l = json.load(open("unloaded.json")), json.load(open("loaded.json"))
print("jitsuind, %s samples each, %s concurrent logins (%d answered while probing):" % (u["health"]["samples"], sys.argv[1], l["logins_answered"]))
for k, name in (("health", "/health (HTTPS)"), ("ocsp", "OCSP (HTTP POST)")):
    a, b = u[k]["p99_ms"], l[k]["p99_ms"]
    print("  %-17s p99 unloaded %8.2f ms   under logins %8.2f ms   ratio %6.1f   (p50 %.2f / %.2f ms, max %.1f ms)"
          % (name, a, b, b / a if a else float("inf"), u[k]["p50_ms"], l[k]["p50_ms"], l[k]["max_ms"]))
PY
