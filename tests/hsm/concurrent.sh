#!/usr/bin/env bash
# Issue 8: token sessions of concurrent jitsuin processes on one home. Four `ca issue` loops, a
# `ca revoke` loop and a `crl publish` loop run at once for SECONDS seconds; every command must
# succeed, every printed serial be unique and recorded, every revocation recorded, and the audit
# chain verify with one entry per command.
#
# Usage: tests/hsm/concurrent.sh [PATH/TO/jitsuin] [SECONDS]      (defaults: build/enroll/jitsuin, 60)
# Registered with CTest as hsm_concurrent. Exit 0: no failure; 1: failures (listed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JITSUIN="$(realpath "${1:-$here/../../build/enroll/jitsuin}")"
SECONDS_TO_RUN="${2:-60}"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
WORK="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-concurrent.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
source "$here/lib.sh"
home="$WORK/home"
fail() { echo "concurrent: FAILED: $*" >&2; exit 1; }

setup_ca "$home"
end=$(($(date +%s) + SECONDS_TO_RUN))

# Each loop logs "ok ..." or "FAIL ..." per command.
issuer() {
  local n="$1" out
  while [ "$(date +%s)" -lt "$end" ]; do
    if out="$(ca_issue "$home" "$WORK/issued-$n.pem" 2>&1)"; then
      echo "ok $(sed -n 's/^issued serial \([0-9A-Fa-f]*\) .*/\1/p' <<<"$out")"
    else
      echo "FAIL issue: $out"
    fi
  done >"$WORK/issuer-$n.log"
}
revoker() {
  local serial out
  while [ "$(date +%s)" -lt "$end" ]; do
    # the oldest issued serial not revoked yet (issuers log a serial only after its commit)
    serial="$(cat "$WORK"/issuer-*.log 2>/dev/null | awk '$1 == "ok" { print $2 }' |
              grep -vxF -f <(awk '$1 == "ok" { print $2 }' "$WORK/revoker.log" 2>/dev/null; echo none) | head -n 1 || true)"
    if [ -z "$serial" ]; then sleep 0.2; continue; fi
    if out="$(ca_revoke "$home" "$serial" 2>&1)"; then echo "ok $serial" >>"$WORK/revoker.log"
    else echo "FAIL revoke $serial: $out" >>"$WORK/revoker.log"; fi
  done
}
publisher() {
  local out
  while [ "$(date +%s)" -lt "$end" ]; do
    if out="$(crl_publish "$home" 2>&1)"; then echo ok; else echo "FAIL publish: $out"; fi
  done >"$WORK/publisher.log"
}

touch "$WORK/revoker.log"
pids=()
for n in 1 2 3 4; do issuer "$n" & pids+=($!); done
revoker & pids+=($!)
publisher & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

issued="$(cat "$WORK"/issuer-*.log | awk '$1 == "ok"' | wc -l)"
revoked="$(awk '$1 == "ok"' "$WORK/revoker.log" | wc -l)"
published="$(awk '$1 == "ok"' "$WORK/publisher.log" | wc -l)"
failures="$(cat "$WORK"/issuer-*.log "$WORK/revoker.log" "$WORK/publisher.log" | grep -c '^FAIL' || true)"
echo "concurrent: ${SECONDS_TO_RUN} s: $issued issued, $revoked revoked, $published CRL runs, $failures failures"
if [ "$failures" != 0 ]; then
  cat "$WORK"/issuer-*.log "$WORK/revoker.log" "$WORK/publisher.log" | grep '^FAIL' | sort | uniq -c | sort -rn | head -n 20
  fail "$failures commands failed"
fi
[ "$issued" -gt 0 ] && [ "$revoked" -gt 0 ] && [ "$published" -gt 0 ] || fail "a loop did nothing"

# No lost or duplicate serials: each printed serial once, each recorded, nothing else recorded.
cat "$WORK"/issuer-*.log | awk '$1 == "ok" { print toupper($2) }' | sort >"$WORK/printed"
[ -z "$(uniq -d "$WORK/printed")" ] || fail "duplicate serials: $(uniq -d "$WORK/printed" | head -n 3)"
sqlite3 "$home/jitsuin.db" "SELECT upper(hex(serial)) FROM certificates WHERE profile = 'tsa'" | sort >"$WORK/recorded"
diff "$WORK/printed" "$WORK/recorded" >/dev/null || fail "printed and recorded serials differ: $(diff "$WORK/printed" "$WORK/recorded" | head -n 5)"
# Every revocation recorded, and one audit entry per successful command.
awk '$1 == "ok" { print toupper($2) }' "$WORK/revoker.log" | sort >"$WORK/revoked"
sqlite3 "$home/jitsuin.db" "SELECT upper(hex(serial)) FROM certificates WHERE revoked_at IS NOT NULL AND profile = 'tsa'" |
  sort >"$WORK/revoked-recorded"
diff "$WORK/revoked" "$WORK/revoked-recorded" >/dev/null || fail "revocations printed and recorded differ"
[ "$(audit_count "$home" cert.issue)" = "$issued" ] || fail "cert.issue entries != $issued"
[ "$(audit_count "$home" cert.revoke)" = "$revoked" ] || fail "cert.revoke entries != $revoked"
[ "$(audit_count "$home" crl.publish)" = "$published" ] || fail "crl.publish entries != $published"
"$JITSUIN" --home "$home" audit verify || fail "audit verify"
echo "concurrent: OK"
