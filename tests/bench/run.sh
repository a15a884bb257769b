#!/usr/bin/env bash
# Full-size benchmarks of issue "Foundation and CA core" (not part of ./test.sh):
#   1. issuance through the CA core vs raw SoftHSM2 signatures with the same key, RSA-2048 and
#      P-256 issuing keys, RSA-2048 and P-256 applicant keys in the CSRs, 1 and 2 threads, database
#      synchronous FULL and NORMAL;
#   2. `jitsuin crl publish` vs `openssl ca -gencrl` at 100 000 and 1 000 000 revoked entries.
# Figures are ratios against baselines measured in the same run; run on a quiet machine.
#
# Usage: tests/bench/run.sh [--build DIR] [--count N] [--raw-seconds S] [--crl "N ..."] [--key p256|rsa2048]
#   --build   build folder with tests/bench/bench_issue and enroll/jitsuin (default: build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build"
count=10000
raw_seconds=3
crl_sizes="100000 1000000"
crl_key=p256
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --raw-seconds) raw_seconds="$2"; shift 2 ;;
    --crl) crl_sizes="$2"; shift 2 ;;
    --key) crl_key="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench_issue="$build/tests/bench/bench_issue"
jitsuin="$build/enroll/jitsuin"
for f in "$bench_issue" "$jitsuin"; do
  [ -x "$f" ] || { echo "run.sh: $f is missing; build first (cmake --build $build --target bench_issue jitsuin)" >&2; exit 1; }
done

log="$(mktemp "${TMPDIR:-/tmp}/jitsuin-bench-XXXXXX.log")"
echo "jitsuin benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenSSL $(openssl version | cut -d' ' -f2), SQLite $(sqlite3 --version | cut -d' ' -f1), SoftHSM2 $(softhsm2-util --version)"
echo "full output: $log"
echo
echo "### Issuance ($count certificates per case)"
"$bench_issue" --count "$count" --raw-seconds "$raw_seconds" | tee -a "$log" | sed -n '/^Issuance vs raw/,$p'
echo
# shellcheck disable=SC2086  # sizes are words
"$here/bench_crl.sh" --jitsuin "$jitsuin" --key "$crl_key" $crl_sizes | tee -a "$log" | sed -n '/^CRL publication/,$p'
