#!/usr/bin/env bash
# Quick start, step 2: install what is missing (incl. the independent checkers), build, run every test.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test
scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
