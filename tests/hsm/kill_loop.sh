#!/usr/bin/env bash
# Issue 8, "a crash while the embedded token is opened destroys it": signing commands (`crl
# publish`, `ca issue`) on one home are killed with SIGKILL at random moments of their run, KILLS
# times; SoftHSM2 rewrites the token's state file at every login (truncate, then write), so some
# kills leave it empty. Afterwards the CA must still issue and publish, and the audit chain verify.
#
# Usage: tests/hsm/kill_loop.sh [PATH/TO/jitsuin] [KILLS]      (defaults: build/enroll/jitsuin, 300)
# Registered with CTest as hsm_kill_loop. Exit 0: the CA survived; 1: it did not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JITSUIN="$(realpath "${1:-$here/../../build/enroll/jitsuin}")"
KILLS="${2:-300}"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
WORK="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-kill-loop.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
source "$here/lib.sh"
home="$WORK/home"
fail() { echo "kill_loop: FAILED: $*" >&2; exit 1; }

setup_ca "$home"
token_file="$(ls -d "$home"/tokens/*/)token.object"

# How long each command runs here, so that the kills land anywhere in its run (login included).
ms() { date +%s%3N; }
t0=$(ms); crl_publish "$home" >/dev/null; t1=$(ms); ca_issue "$home" "$WORK/first.pem" >/dev/null; t2=$(ms)
publish_ms=$((t1 - t0 + 20)); issue_ms=$((t2 - t1 + 20))
echo "kill_loop: crl publish takes ~$((t1 - t0)) ms, ca issue ~$((t2 - t1)) ms; killing $KILLS runs"

emptied=0 first_empty=none
for i in $(seq "$KILLS"); do
  if ((i % 2)); then
    (EXEC=exec; crl_publish "$home") >/dev/null 2>&1 & pid=$!; span=$publish_ms
  else
    (EXEC=exec; ca_issue "$home" "$WORK/killed.pem") >/dev/null 2>&1 & pid=$!; span=$issue_ms
  fi
  sleep "$(awk -v r="$RANDOM" -v s="$span" 'BEGIN { printf "%.3f", r / 32768 * s / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ ! -s "$token_file" ]; then
    emptied=$((emptied + 1))
    [ "$first_empty" != none ] || first_empty=$i
  fi
done
echo "kill_loop: $KILLS runs killed; the token's state file was left empty after $emptied of them (first after run $first_empty)"

# The CA must work: issue, publish, and the audit chain verify.
out="$(ca_issue "$home" "$WORK/after.pem" 2>&1)" || fail "ca issue after the kills: $out"
echo "$out"
out="$(crl_publish "$home" 2>&1)" || fail "crl publish after the kills: $out"
echo "$out"
# The published CA certificates are DER (for the AIA URLs); openssl checks the new certificate
# against them and the new CRLs.
for f in root issuing; do
  openssl x509 -inform DER -in "$home/crl/$f.crt" -out "$WORK/$f.pem"
  openssl crl -inform DER -in "$home/crl/$f.crl" -out "$WORK/$f.crl.pem"
done
openssl verify -x509_strict -crl_check_all -CAfile "$WORK/root.pem" -untrusted "$WORK/issuing.pem" \
  -CRLfile "$WORK/root.crl.pem" -CRLfile "$WORK/issuing.crl.pem" "$WORK/after.pem" ||
  fail "the certificate issued after the kills does not verify"
"$JITSUIN" --home "$home" audit verify || fail "audit verify after the kills"
# Every restore was reported: none is left pending for a later command to audit.
[ -z "$(find "$home/token-backup" -name restore.pending)" ] || fail "a restore was not reported"
restores="$(audit_count "$home" hsm.token.restore 2>/dev/null || echo 0)"
echo "kill_loop: OK — the CA issues and publishes; $restores restore(s) of the state file audited"
