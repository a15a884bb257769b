#!/usr/bin/env bash
# Enrollment benchmark (issue 10): enrollment round trips per second (enroll.start + enroll.collect
# over one HTTPS keep-alive connection to the built jitsuind, the download PIN read back from the
# outbox by the bench, tests/bench/bench_enroll.py) against the raw SoftHSM2 P-256 signature rate
# measured in the same run (bench_issue's raw measurement, the issuing key's algorithm), printed as
# a ratio, with where one round trip spends its time: scrypt (three per round trip), CSR
# self-signature checks (two), the token's signature (one), and the rest (HTTP, JSON, SQLite
# commits, audit entries). Not a test assertion: it fails only when something does not work.
# Usage: tests/bench/bench_enroll.sh [--build DIR] [--count N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
count=30
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench_enroll: unknown option $1" >&2; exit 2 ;;
  esac
done
JITSUIN="$build/enroll/jitsuin"
JITSUIND="$build/enroll/jitsuind"
bench_issue="$build/tests/bench/bench_issue"
for f in "$JITSUIN" "$JITSUIND" "$bench_issue"; do
  [ -x "$f" ] || { echo "bench_enroll: $f is missing; build first" >&2; exit 1; }
done
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-enroll.XXXXXX")"
pid=""
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
home="$work/home"
source "$root/tests/enroll/jitsuind_start.sh"
fail() { echo "bench_enroll: $*" >&2; exit 1; }
test_config "$work/jitsuin.json" server.tls_key=file server.outbox_interval_seconds=0 \
  server.auth_rate_per_address=$((100 * count + 1000)) server.auth_rate_per_account=$((100 * count + 1000))
export JITSUIN_CONFIG="$work/jitsuin.json"
source "$root/tests/enroll/ra_fixture.sh"
ra_fixture_files
ra_staff "$home"
start_jitsuind "$home" server
pid="$JITSUIND_PID"
port="$TLS_PORT"

echo "jitsuin enrollment benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
raw_line() { "$bench_issue" --count 20 --raw-seconds 2 --algs p256 --threads 1 --sync full --csr-keys p256 |
  awk '/^p256 +p256 +1 +full/ {print $5}'; }
raw_before="$(raw_line)"
/usr/bin/python3 "$here/bench_enroll.py" 127.0.0.1 "$port" "$home/server/root.pem" "$home" "$count" >bench.out
raw_after="$(raw_line)"
kill -TERM "$pid"; wait "$pid" || true; pid=""
"$JITSUIN" --home "$home" audit verify >/dev/null
/usr/bin/python3 - "$(tail -n1 bench.out)" "$raw_before" "$raw_after" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
raw = (float(sys.argv[2]) + float(sys.argv[3])) / 2
rt = r["round_trips_per_s"]
per = 1000 / rt
sign = 1000 / raw
scrypt = 3 * r["scrypt_ms"]
verify = 2 * r["csr_verify_ms"]
rest = per - scrypt - verify - sign
print(f"{r['count']} round trips (enroll.start + download PIN from the outbox + enroll.collect), one keep-alive connection")
print(f"  enrollment round trips  {rt:10.2f} /s   ({per:.1f} ms each: start {r['start_ms']:.1f}, PIN read "
      f"{r['pin_read_ms']:.1f}, collect {r['collect_ms']:.1f})")
print(f"  raw P-256 token signatures {raw:10.0f} /s   (before {float(sys.argv[2]):.0f}, after {float(sys.argv[3]):.0f})")
print(f"  ratio round trips / raw signatures: {rt / raw:.5f}  (1 : {raw / rt:.0f})")
print("  where one round trip goes:")
for name, ms in (("scrypt x3 (application PIN check, download PIN hash and check)", scrypt),
                 ("CSR self-signature x2 (enroll.start, the CA at issuance)", verify),
                 ("token signature x1", sign),
                 ("the rest: HTTP, JSON, SQLite commits, audit entries, outbox sealing", rest)):
    print(f"    {ms:8.1f} ms  {100 * ms / per:5.1f}%  {name}")
EOF
echo "audit chain verified"
