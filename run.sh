#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, initialise the embedded CA under ./var
# (SQLite database + SoftHSM2 token, created on first start) and show its status.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh run
scripts/build.sh
jitsuin=build/enroll/jitsuin
if ! "$jitsuin" ca show >/dev/null 2>&1; then
  "$jitsuin" ca init
fi
"$jitsuin" ca show
"$jitsuin" crl publish
echo
echo "jitsuin: CA ready under ./var. CRLs in ./var/crl; try: $jitsuin --help"
