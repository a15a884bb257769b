#!/usr/bin/env bash
# bench_smoke: both benchmarks at tiny sizes, so they keep working. Fails when either fails.
# Usage: smoke.sh BENCH_ISSUE JITSUIN
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$1" --count 200 --raw-seconds 0.2
"$here/bench_crl.sh" --jitsuin "$2" --partitions 0 1000   # one CRL (certificates issued before partitions)
"$here/bench_crl.sh" --jitsuin "$2" --partitions 500 1000
