#!/usr/bin/env bash
# jitsuind against nginx over TLS on this machine, in the same run: requests/s and p99 latency at
# 100 concurrent keep-alive connections (wrk -t2 -c100) for a static CRL fetch (the same file for
# both), a small JSON answer (GET /health on jitsuind, a small JSON file on nginx) and a small API
# call (POST /api/v1/ra.whoami with an operator's bearer token: the address's rate limit and the
# session checked — from the connection's cache of them after one PRAGMA data_version read, since
# nothing changes the database during the run — the answer rendered as JSON; against the same
# nginx file); and TLS handshakes/s (openssl s_time
# -new: one full handshake after another) with jitsuind's key on the token against the same
# server with the key in a file. nginx (Debian nginx-light) gets our CA-issued server certificate
# and key as files, worker_processes auto, keepalive_requests 1000, an access log written per
# request (jitsuind writes one JSON line per request). jitsuind runs with its defaults
# (server.keepalive_requests 1000, as nginx; API calls in parallel), and ra.whoami once more with
# server.api_connections 1 (one API call at a time, as before the pool). Prints ratios; not a
# test assertion (it fails only when something does not work).
#
# Usage: bench_api.sh [--jitsuin PATH] [--jitsuind PATH] [--seconds N] [--work DIR] [--keep]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
jitsuin="$src/build/enroll/jitsuin"
jitsuind="$src/build/enroll/jitsuind"
seconds=10
work=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --jitsuin) jitsuin="$2"; shift 2 ;;
    --jitsuind) jitsuind="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench_api: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx openssl curl; do
  command -v "$tool" >/dev/null || { echo "bench_api: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
for b in "$jitsuin" "$jitsuind"; do [ -x "$b" ] || { echo "bench_api: no binary $b (build first)" >&2; exit 1; }; done
ulimit -n 8192 2>/dev/null || true
[ -n "$work" ] || work="$(mktemp -d "${TMPDIR:-/tmp}/bench-api.XXXXXX")"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
pid=""; nginx_pid=""
cleanup() {
  for p in "$pid" "$nginx_pid"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
home="$work/home"
"$jitsuin" --home "$home" ca init >/dev/null
"$jitsuin" --home "$home" crl publish >/dev/null
umask 077
printf '%s\n' "passphrase of bench, long enough" >admin.pw
"$jitsuin" --home "$home" ra operator-add --name bench --role administrator --password-file admin.pw >/dev/null

fail() { echo "bench_api: $*" >&2; exit 1; }
source "$src/tests/enroll/jitsuind_start.sh"
JITSUIND="$jitsuind"
start() {   # start CONFIG: sets pid and port
  start_jitsuind "$home" server --config "$1"
  pid="$JITSUIND_PID"
  port="$TLS_PORT"
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
handshakes() {   # handshakes PORT: full TLS handshakes per second, one after another
  openssl s_time -connect "127.0.0.1:$1" -new -time "$seconds" 2>/dev/null |
    awk '/connections in [0-9]+ real seconds/ {printf "%.0f\n", $1 / $4; exit}'
}
# whoami.lua: POST {} with the bearer token in $TOKEN (wrk's Lua).
cat >whoami.lua <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA
login() {   # login PORT: an operator session token for the bench operator
  curl -sSk -H 'Content-Type: application/json' --data-binary \
    '{"user": "bench", "password": "passphrase of bench, long enough"}' "https://127.0.0.1:$1/api/v1/session.login" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
warm_up() { wrk -t2 -c100 -d2s "$1" >/dev/null 2>&1 || true; }   # warm_up URL: 2 s not counted, for each server alike
measure() {   # measure NAME URL [WRK ARGS...]: "requests/s p99_ms" of wrk -t2 -c100
  local name="$1" url="$2"
  shift 2
  wrk -t2 -c100 -d"${seconds}s" --timeout 10s --latency "$@" "$url" >"wrk-$name.txt" 2>&1
  set -- "$name"
  if grep -q -e 'Socket errors' -e 'Non-2xx' "wrk-$1.txt"; then echo "bench_api: $1: errors: $(cat "wrk-$1.txt")" >&2; fi
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' "wrk-$1.txt")"
  p99="$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub("us", "", v); v /= 1000} else if (v ~ /ms$/) sub("ms", "", v); else if (v ~ /s$/) {sub("s", "", v); v *= 1000}; print v}' "wrk-$1.txt")"
  echo "$rps $p99"
}

# jitsuind with its key in a file: handshakes; its certificate and key are nginx's too.
test_config file.json server.tls_key=file server.api_connections=0
start file.json
hs_file="$(handshakes "$port")"
stop
mkdir -p nginx/www/crl
cp "$home/server/tls.key" "$home/server/tls-chain.pem" nginx/
cp "$home/crl/issuing.crl" nginx/www/crl/issuing.crl
printf '{"status":"ok"}\n' >nginx/www/health.json

# jitsuind with its key on the token (the default): handshakes, then the three routes with the
# defaults, and ra.whoami again with one API call at a time.
test_config token.json server.tls_key=token server.api_connections=0
test_config token-serial.json server.tls_key=token server.api_connections=1
start token.json
hs_token="$(handshakes "$port")"
cmp -s <(curl -sSk "https://127.0.0.1:$port/crl/issuing.crl") nginx/www/crl/issuing.crl || { echo "bench_api: CRL differs" >&2; exit 1; }
warm_up "https://127.0.0.1:$port/health"
read -r j_crl_rps j_crl_p99 <<<"$(measure j-crl "https://127.0.0.1:$port/crl/issuing.crl")"
read -r j_json_rps j_json_p99 <<<"$(measure j-json "https://127.0.0.1:$port/health")"
TOKEN="$(login "$port")" && export TOKEN
curl -sSk -H "Authorization: Bearer $TOKEN" -d '{}' "https://127.0.0.1:$port/api/v1/ra.whoami" | grep -q '"bench"' ||
  { echo "bench_api: ra.whoami does not answer" >&2; exit 1; }
read -r j_api_rps j_api_p99 <<<"$(measure j-api "https://127.0.0.1:$port/api/v1/ra.whoami" -s whoami.lua)"
stop
start token-serial.json
TOKEN="$(login "$port")" && export TOKEN
read -r j1_api_rps j1_api_p99 <<<"$(measure j1-api "https://127.0.0.1:$port/api/v1/ra.whoami" -s whoami.lua)"
stop

# nginx on a free port, same files.
nport="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# The files are private to this user (umask 077): nginx's workers run as the same user, which for
# root needs a `user root` line (nginx would otherwise drop to nobody and read nothing).
nginx_user=""
[ "$(id -u)" = 0 ] && nginx_user="user root;"
cat >nginx/nginx.conf <<EOF
$nginx_user
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log $work/nginx/access.log;   # one write per request, as jitsuind's access log
  keepalive_requests 1000;
  types { application/pkix-crl crl; application/json json; }
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $work/nginx/tls-chain.pem;
    ssl_certificate_key $work/nginx/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $work/nginx/www;
    location = /health { default_type application/json; try_files /health.json =404; }
  }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>nginx/stderr &
nginx_pid=$!
for _ in $(seq 1 300); do curl -sSk -o /dev/null "https://127.0.0.1:$nport/health" 2>/dev/null && break; sleep 0.1; done
cmp -s <(curl -sSk "https://127.0.0.1:$nport/crl/issuing.crl") nginx/www/crl/issuing.crl || { echo "bench_api: nginx CRL" >&2; exit 1; }
warm_up "https://127.0.0.1:$nport/health"
read -r n_crl_rps n_crl_p99 <<<"$(measure n-crl "https://127.0.0.1:$nport/crl/issuing.crl")"
read -r n_json_rps n_json_p99 <<<"$(measure n-json "https://127.0.0.1:$nport/health")"
kill -TERM "$nginx_pid"; wait "$nginx_pid" || true; nginx_pid=""

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "TLS handshakes/s (openssl s_time -new, ${seconds}s): key on the token $hs_token, key in a file $hs_file" \
     "(token/file $(ratio "$hs_token" "$hs_file"))"
printf '%-44s %12s %10s %12s\n' "wrk -t2 -c100 -d${seconds}s, HTTPS" "requests/s" "p99 ms" "÷ nginx"
printf '%-44s %12s %10s %12s\n' "CRL ($(stat -c %s nginx/www/crl/issuing.crl) B): nginx" "$n_crl_rps" "$n_crl_p99" "1.00"
printf '%-44s %12s %10s %12s\n' "CRL: jitsuind" "$j_crl_rps" "$j_crl_p99" "$(ratio "$j_crl_rps" "$n_crl_rps")"
printf '%-44s %12s %10s %12s\n' "small JSON: nginx (static file)" "$n_json_rps" "$n_json_p99" "1.00"
printf '%-44s %12s %10s %12s\n' "small JSON: jitsuind GET /health" "$j_json_rps" "$j_json_p99" "$(ratio "$j_json_rps" "$n_json_rps")"
printf '%-44s %12s %10s %12s\n' "API: jitsuind POST ra.whoami (parallel)" "$j_api_rps" "$j_api_p99" "$(ratio "$j_api_rps" "$n_json_rps")"
printf '%-44s %12s %10s %12s\n' "API: jitsuind ra.whoami, api_connections 1" "$j1_api_rps" "$j1_api_p99" "$(ratio "$j1_api_rps" "$n_json_rps")"
