#!/usr/bin/env bash
# OCSP benchmark: responses/s and p99 latency for pre-signed statuses, with wrk (a Lua script
# POSTs one DER request, keep-alive connections), against three responders in the same run, over
# the same certificates of one jitsuin CA:
#   - jitsuind (POST /ocsp on its plain-HTTP listener; responses pre-signed by its delegated
#     signer on the token, the row read again for each request);
#   - `cfssl ocspserve` serving responses made beforehand by `cfssl ocspsign`. cfssl cannot sign
#     with a key on our token, so those are signed with a software (file) key of a delegated
#     signer of the same shape (profile ocsp-signing, P-256, issued by the same issuing CA) made
#     for the bench;
#   - `openssl ocsp -index index.txt -port P -rsigner ... -CA ...` with that same file key; it
#     signs every response (it keeps none) and runs -multi processes (one per CPU).
# Not a test assertion: it fails only when a responder does not answer `good` with a response
# that verifies. Prints the ratios jitsuind / cfssl and jitsuind / openssl.
#
# Usage: bench_ocsp.sh [--build DIR] [--seconds S] [--connections N] [--threads T] [--keep]
#   --build        build folder with enroll/jitsuin and enroll/jitsuind (default: build)
#   --seconds      wrk duration per responder (default 5), after a 1 s warm-up
#   --connections  wrk connections (default 50), --threads wrk threads (default 2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../../build"
seconds=5
connections=50
wrk_threads=2
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) wrk_threads="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_ocsp: unknown option $1" >&2; exit 2 ;;
  esac
done
jitsuin="$(realpath "$build/enroll/jitsuin")"
jitsuind="$(realpath "$build/enroll/jitsuind")"
for f in "$jitsuin" "$jitsuind"; do [ -x "$f" ] || { echo "bench_ocsp: $f missing: build first" >&2; exit 1; }; done
for tool in wrk cfssl openssl curl; do
  command -v "$tool" >/dev/null || { echo "bench_ocsp: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
unset JITSUIN_CONFIG JITSUIN_CA_PIN
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-bench-ocsp-XXXXXX")"
pids=()
cleanup() {
  # openssl ocsp -multi's worker processes outlive their parent: they are ended by their parent's id.
  for p in "${pids[@]}"; do pkill -KILL -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
umask 077
fail() { echo "bench_ocsp: FAILED: $*" >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {   # wait_port PORT PID: until it answers an HTTP request (a bare connection left
  # unused would keep a single-threaded responder waiting)
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 2 -H 'Content-Type: application/ocsp-request' --data-binary @req.der \
      "http://127.0.0.1:$1/" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- the CA, an administrator's session, the certificates and the bench's file-key signer.
home="$work/var"
export JITSUIN_SESSION_FILE="$work/admin.session"
"$jitsuin" --home "$home" ca init >/dev/null
"$jitsuin" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$jitsuin" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
"$jitsuin" --home "$home" login --user admin --password-file admin.pw >/dev/null
openssl x509 -inform DER -in "$home/crl/issuing.crt" -out issuing.pem
openssl x509 -inform DER -in "$home/crl/root.crt" -out root.pem
issue() {   # issue NAME PROFILE CN
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
  printf '{"organization": "Example Kensetsu", "common_name": "%s"}\n' "$3" >"$1.subject.json"
  "$jitsuin" --home "$home" ca issue --profile "$2" --csr "$1.csr" --subject "$1.subject.json" --out "$1.pem" >/dev/null
}
for i in 1 2 3 4; do issue "leaf$i" individual-signing "Bench Leaf $i"; done
issue signer ocsp-signing "Jitsuin Issuing CA 1 OCSP bench"
openssl ocsp -issuer issuing.pem -cert leaf1.pem -no_nonce -reqout req.der >/dev/null 2>&1
# openssl ocsp answers HTTP/1.0 and closes each connection after one response: it gets
# "Connection: close", and wrk reconnects for every request.
for keepalive in keep close; do
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/ocsp-request"'
    [ "$keepalive" = close ] && echo 'wrk.headers["Connection"] = "close"'
    echo "local f = assert(io.open(\"$work/req.der\", \"rb\"))"
    echo 'wrk.body = f:read("*a")'
    echo 'f:close()'
  } >"post-$keepalive.lua"
done

# --- the three responders.
source "$here/../enroll/jitsuind_start.sh"
JITSUIND="$jitsuind"
start_jitsuind "$home" jitsuind
pids+=("$JITSUIND_PID")
jitsuind_url="$HTTP_URL/ocsp"

: >cfssl.responses
for i in 1 2 3 4; do
  cfssl ocspsign -ca issuing.pem -responder signer.pem -responder-key signer.key -cert "leaf$i.pem" -status good \
    -interval 24h 2>/dev/null >"cfssl$i.json" || fail "cfssl ocspsign"
  /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ocspResponse"])' "cfssl$i.json" >>cfssl.responses
done
cfssl_port="$(free_port)"
cfssl ocspserve -address 127.0.0.1 -port "$cfssl_port" -responses cfssl.responses -loglevel 5 >cfssl.log 2>&1 &
pids+=($!)
wait_port "$cfssl_port" "${pids[-1]}" || fail "cfssl ocspserve did not start: $(cat cfssl.log)"
cfssl_url="http://127.0.0.1:$cfssl_port/"

: >index.txt
for i in 1 2 3 4; do
  end="$(date -u -d "$(openssl x509 -in "leaf$i.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)"
  serial="$(openssl x509 -in "leaf$i.pem" -noout -serial | cut -d= -f2)"
  subject="$(openssl x509 -in "leaf$i.pem" -noout -subject -nameopt compat | sed 's/^subject=//')"
  printf 'V\t%s\t\t%s\tunknown\t%s\n' "$end" "$serial" "$subject" >>index.txt
done
openssl_port="$(free_port)"
openssl ocsp -index index.txt -port "$openssl_port" -rsigner signer.pem -rkey signer.key -CA issuing.pem \
  -ndays 1 -multi "$(nproc)" >openssl.log 2>&1 &
pids+=($!)
wait_port "$openssl_port" "${pids[-1]}" || fail "openssl ocsp did not start: $(cat openssl.log)"
openssl_url="http://127.0.0.1:$openssl_port/"

# --- each answers good, with a response that verifies against the root.
for name in jitsuind cfssl openssl; do
  url_var="${name}_url"
  curl -sS -H 'Content-Type: application/ocsp-request' --data-binary @req.der -o "$name.der" "${!url_var}" ||
    fail "$name does not answer"
  openssl ocsp -respin "$name.der" -issuer issuing.pem -cert leaf1.pem -CAfile root.pem -no_nonce >"$name.check" 2>&1 ||
    fail "$name: $(cat "$name.check")"
  grep -q "^Response verify OK" "$name.check" && grep -q "^leaf1.pem: good" "$name.check" ||
    fail "$name: $(cat "$name.check")"
done

# --- wrk against each, in turn.
# "99%   1.23ms" -> milliseconds
to_ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$1"; }
declare -A rate p99 errors
for name in jitsuind cfssl openssl; do
  url_var="${name}_url"
  lua=post-keep.lua
  [ "$name" = openssl ] && lua=post-close.lua
  # Warm-up, but for openssl: its responder processes stay blocked on the connections a finished
  # wrk run leaves open (it has no read timeout as a server), so it gets one run only.
  [ "$name" = openssl ] || wrk -t"$wrk_threads" -c"$connections" -d1s -s "$lua" "${!url_var}" >/dev/null 2>&1 || true
  wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency -s "$lua" "${!url_var}" >"$name.wrk" 2>&1 ||
    fail "wrk $name: $(cat "$name.wrk")"
  rate[$name]="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$name.wrk")"
  p99[$name]="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$name.wrk")")"
  errors[$name]="$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$name.wrk")"
done

echo "OCSP responders, pre-signed good status, wrk -t$wrk_threads -c$connections -d${seconds}s (POST; keep-alive but for openssl)"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %12s %10s %8s\n' responder "responses/s" "p99 ms" errors
for name in jitsuind cfssl openssl; do
  printf '%-10s %12s %10s %8s\n' "$name" "${rate[$name]}" "${p99[$name]}" "${errors[$name]}"
done
awk -v j="${rate[jitsuind]}" -v c="${rate[cfssl]}" -v o="${rate[openssl]}" \
  'BEGIN { printf "jitsuind / cfssl ocspserve: %.2fx   jitsuind / openssl ocsp: %.2fx\n", j / c, j / o }'
