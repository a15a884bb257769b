#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, initialise the embedded CA under ./var
# (SQLite database + SoftHSM2 token, created on first start) and show its status.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh run
scripts/build.sh
jitsuin=build/enroll/jitsuin
# First start: no CA yet -> create it (token, keys, certificates). Any other failure is shown as is.
if ! status=$("$jitsuin" ca show 2>&1); then
  if grep -q 'run: jitsuin ca init' <<<"$status"; then
    "$jitsuin" ca init
  else
    echo "$status" >&2
    exit 1
  fi
fi
"$jitsuin" ca show
"$jitsuin" crl publish
echo
echo "jitsuin: CA ready under ./var. CRLs in ./var/crl; try: $jitsuin --help"
