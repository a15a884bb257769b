#!/usr/bin/env bash
# Quick start, step 2: install what is missing (incl. the independent checkers), build, run every test.
# Long mode (`./test.sh --long`, or JITSUIN_LONG=1 ./test.sh): after the suite, the PDF benchmark
# (tests/bench/bench_pdf.sh, 10 and 50 MB) and a minute of the PDF validator's fuzzer.
set -euo pipefail
cd "$(dirname "$0")"
long="${JITSUIN_LONG:-0}"
if [ "${1:-}" = --long ]; then long=1; shift; fi
scripts/deps.sh test
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)" "$@")
if [ "$long" = 1 ]; then
  tests/bench/bench_pdf.sh build/enroll/jitsuin 10 50
  tests/contract/fuzz.sh build . build/enroll/jitsuin -max_total_time=60
fi
