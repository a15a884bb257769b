#!/usr/bin/env bash
# README "From ./run.sh to a certificate on a SoftHSM token", run verbatim (CTest token_walkthrough):
# ./run.sh for real on a fresh folder (JITSUIN_HOME=./var, the built binaries, free ports), the
# temporary password it prints put into admin.first, then the section's further code blocks, in
# order, as one bash script (set -euo pipefail) with the built `jitsuin` on PATH; then the outcome:
# the certificate on the applicant's SoftHSM2 token beside its key (pkcs11-tool) and verified by
# openssl with the CA's published certificates, the application issued.
# Usage: tests/enroll/token_walkthrough_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh" token_walkthrough "$@"
show_on_failure=(run.err walk.err walk.out)
unset SOFTHSM2_CONF JITSUIN_TEST_NOW

JITSUIN_HOME="$work/var" JITSUIN_SKIP_BUILD=1 JITSUIN_BUILD_DIR="$BINDIR" \
  bash "$SOURCE_DIR/run.sh" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >run.out 2>run.err &
pids[run]=$!
[[ "$(wait_served "${pids[run]}" run.out)" =~ https=127\.0\.0\.1:([0-9]+) ]] || fail "no jitsuind port in the output"
server="https://127.0.0.1:${BASH_REMATCH[1]}"
grep -A1 'first administrator: admin, temporary password' run.out | tail -n1 | tr -d ' ' >admin.first
[ -s admin.first ] || fail "run.sh printed no temporary password"

# Its blocks but the first (./run.sh, running above).
{ echo "set -euo pipefail"; $PY "$SOURCE_DIR/tests/enroll/readme_blocks.py" "$SOURCE_DIR/README.md" \
    "### From ./run.sh to a certificate on a SoftHSM token" 5 1; } >walk.sh || fail "README: $(cat walk.sh)"
PATH="$BINDIR:$PATH" SERVER="$server" timeout 600 bash -v walk.sh >walk.out 2>walk.err ||
  fail "a README command failed (see walk.err, walk.out)"
cat walk.out

# The outcome, checked independently.
export SOFTHSM2_CONF="$work/etoken/softhsm2.conf"
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label etoken --login --pin etoken-user-5678 \
  --list-objects >objects.txt 2>/dev/null || fail "pkcs11-tool cannot list the token"
key_id="$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects.txt)"
[ -n "$key_id" ] || fail "no key on the token"
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label etoken --read-object --type cert --id "$key_id" \
  -o cert.der >/dev/null 2>&1 || fail "no certificate with the key's ID"
openssl x509 -inform der -in var/crl/issuing.crt -out issuing.pem
openssl x509 -inform der -in var/crl/root.crt -out root.pem
openssl x509 -inform der -in cert.der | openssl verify -CAfile root.pem -untrusted issuing.pem >/dev/null ||
  fail "the certificate on the token does not verify"
grep -q "yamada-chain.pem: OK" walk.out || fail "the README's openssl verify did not say OK"
grep -qE "^state +issued$" walk.out || fail "the application is not issued"
check "README walkthrough: ./run.sh, the RA commands, the agent and the maildir put a verified certificate on the eToken"
