#!/usr/bin/env bash
# The token agent with a second real PKCS#11 module: opencryptoki's soft token (Debian's
# opencryptoki 3.8, module libopencryptoki.so, slot daemon pkcsslotd). Unlike SoftHSM2 it behaves
# like the applicants' eTokens where SoftHSM2 does not: its admin (SO) PIN ships as the maker's
# default (flag "SO PIN to be changed"), it takes PINs of 4 to 8 characters only, it LOCKS the user
# PIN after three wrong PINs (CKR_PIN_LOCKED), and it has no EC mechanisms.
#   1. `token list` shows the new token; `token init` refuses PINs the token cannot take, says to use
#      --factory-admin-pin when the token does not take a new admin PIN, refuses a wrong maker's PIN
#      (nothing changed), then initialises with the maker's admin PIN and replaces it: pkcs11-tool
#      (OpenSC) then accepts only the new admin PIN.
#   2. Wrong user PINs count down to the lock; the locked PIN gets the message naming
#      `jitsuin token unblock` (en, ja) from `token show` and from `token enroll` (which contacts no
#      server); pkcs11-tool reports "user PIN locked"; `token unblock` with a wrong admin PIN changes
#      nothing, with the right one the new user PIN opens the token (checked by pkcs11-tool).
#   3. A P-256 request is refused before anything is sent (the token has no EC); `token enroll`
#      without --algorithm picks RSA-2048, the profile's other algorithm, and writes the certificate
#      beside its key: pkcs11-tool shows both with one ID, the key sensitive and never extractable,
#      and `openssl verify` accepts the certificate read back with the CA chain.
# The daemon and the token's files are the test's own: the script runs itself in private mount, IPC
# and PID namespaces (util-linux unshare, as root) with a tmpfs on /run and a temp folder on
# /var/lib/opencryptoki, so the machine's own opencryptoki tokens are neither seen nor touched,
# and pkcsslotd ends with the namespace.
# Usage: tests/enroll/token_ock_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
if [ -z "${JITSUIN_OCK_NAMESPACE:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "token_ock_test: FAILED: needs root for its own namespaces (unshare)" >&2; exit 1; }
  exec env JITSUIN_OCK_NAMESPACE=1 unshare --mount --ipc --pid --fork --kill-child --mount-proc bash "$0" "$@"
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" token_ock_test "$@"
unset JITSUIN_TEST_NOW SOFTHSM2_CONF
show_on_failure=(server.err sink.err slotd.err)
MODULE="/usr/lib/$(gcc -print-multiarch)/pkcs11/libopencryptoki.so"
[ -e "$MODULE" ] && command -v pkcsslotd >/dev/null ||
  fail "opencryptoki is not installed (scripts/deps.sh installs it)"

# The slot daemon of this namespace, on token files of this test.
mount -t tmpfs -o mode=0755 jitsuin-run /run
mkdir -p /run/lock/opencryptoki/swtok "$work/ock/swtok/TOK_OBJ"
chgrp -R pkcs11 /run/lock/opencryptoki "$work/ock"
chmod -R 0770 /run/lock/opencryptoki "$work/ock"
chmod 0711 "$work"   # the folder umask 077 made; pkcsslotd's group must reach ock/ inside it
mount --bind "$work/ock" /var/lib/opencryptoki
# One slot, the soft token (the package's configuration also lists TPM, ICA, CCA and EP11 slots).
printf 'version opencryptoki-3.1\nslot 3\n{\nstdll = libpkcs11_sw.so\n}\n' >opencryptoki.conf
chmod 0644 opencryptoki.conf
mount --bind opencryptoki.conf /etc/opencryptoki/opencryptoki.conf
pkcsslotd 2>slotd.err || fail "pkcsslotd did not start"
for _ in $(seq 1 50); do [ -S /run/pkcsslotd.socket ] && break; sleep 0.1; done
[ -S /run/pkcsslotd.socket ] || fail "pkcsslotd made no socket"

tok() {   # tok ARGS...: the agent with $PINS on fd 3 (one per line); output in out.txt, status in $rc
  rc=0
  "$JITSUIN" token "$@" --module "$MODULE" --pin-fd 3 3<<<"$PINS" >out.txt 2>&1 </dev/null || rc=$?
}
p11() { pkcs11-tool --module "$MODULE" "$@"; }
token_flags() { p11 -T 2>/dev/null | grep 'token flags'; }

# 1. A new token with the maker's admin PIN.
"$JITSUIN" token list --module "$MODULE" --json >list.json
jq -e '.[] | select(.model == "IBM SoftTok") | (.initialized | not) and .so_pin_to_be_changed and
       .min_pin_length == 4 and .max_pin_length == 8' list.json >/dev/null || fail "token list: $(cat list.json)"
check "token list: opencryptoki's soft token, uninitialised, factory admin PIN, PINs of 4 to 8 characters"

PINS=$'87654321\nadmin-pin-12\nuser5678' tok init --label applicant --factory-admin-pin
[ "$rc" = 1 ] && grep -q "the admin (SO) PIN must be 4 to 8 characters on this token (IBM Corp. IBM SoftTok); nothing was changed" out.txt ||
  fail "a 12-character admin PIN: $(cat out.txt)"
PINS=$'adm1n234\nuser5678' tok init --label applicant
[ "$rc" = 1 ] && grep -q "did not take a new admin (SO) PIN: its maker has set one" out.txt &&
  grep -q "Run \`jitsuin token init --factory-admin-pin\`" out.txt || fail "init without the maker's admin PIN: $(cat out.txt)"
PINS=$'11112222\nadm1n234\nuser5678' tok init --label applicant --factory-admin-pin
[ "$rc" = 1 ] && grep -q "the admin (SO) PIN is wrong" out.txt || fail "a wrong factory admin PIN: $(cat out.txt)"
token_flags | grep -q "token initialized" && fail "a refused init changed the token: $(token_flags)"
check "init refuses a PIN longer than the token takes, points to --factory-admin-pin, refuses a wrong one; the token stays new"

PINS=$'87654321\nadm1n234\nuser5678' tok init --label applicant --factory-admin-pin
[ "$rc" = 0 ] && grep -q "token initialised: label 'applicant'" out.txt || fail "token init: $(cat out.txt)"
token_flags | grep -q "token initialized, PIN initialized" || fail "pkcs11-tool: $(token_flags)"
token_flags | grep -q "SO PIN to be changed" && fail "the factory admin PIN was not replaced: $(token_flags)"
p11 --token-label applicant --init-pin --login --login-type so --so-pin 87654321 --new-pin user5678 >p11.out 2>&1 &&
  fail "pkcs11-tool: the factory admin PIN still works"
grep -q CKR_PIN_INCORRECT p11.out || fail "pkcs11-tool with the factory admin PIN: $(cat p11.out)"
p11 --token-label applicant --init-pin --login --login-type so --so-pin adm1n234 --new-pin user5678 >p11.out 2>&1 ||
  fail "pkcs11-tool with the new admin PIN: $(cat p11.out)"
check "init with the factory admin PIN replaces it: pkcs11-tool refuses 87654321 and takes the new admin PIN"

# 2. Wrong user PINs until the token locks the PIN; unblock.
expected=("few tries left before the PIN locks" "one try left before the PIN locks" "the PIN is now locked")
for i in 0 1 2; do
  PINS=wrong123 tok show --token applicant --login
  [ "$rc" = 1 ] && grep -q "cannot log in to token 'applicant' (${expected[$i]}): CKR_PIN_INCORRECT" out.txt ||
    fail "wrong PIN $((i + 1)): $(cat out.txt)"
done
token_flags | grep -q "user PIN locked" || fail "pkcs11-tool does not see the user PIN locked: $(token_flags)"
check "three wrong user PINs: the agent counts down (few tries, one try, locked) and the token locks the PIN"

PINS=user5678 tok show --token applicant --login
[ "$rc" = 1 ] && grep -q "CKR_PIN_LOCKED" out.txt && grep -q "use \`jitsuin token unblock\` with the admin (SO) PIN" out.txt &&
  grep -q "ユーザーPINがロックされています" out.txt || fail "the right PIN on a locked token: $(cat out.txt)"
cat out.txt
"$JITSUIN" token list --module "$MODULE" | grep -q "'applicant' .* user PIN LOCKED (jitsuin token unblock)" ||
  fail "token list does not show the lock"
PINS="$(printf '%s\n' 1234-5678 user5678)" tok enroll --token applicant --server https://127.0.0.1:9/ --application 1 \
  --ca /dev/null
[ "$rc" = 1 ] && grep -q "user PIN is locked: run \`jitsuin token unblock\` with the admin (SO) PIN first" out.txt ||
  fail "token enroll on a locked token: $(cat out.txt)"
check "a locked user PIN: token show, token list and token enroll (before any server) say to run token unblock"

PINS=$'wrong123\nnewuser1' tok unblock --token applicant
[ "$rc" = 1 ] && grep -q "cannot log in as admin (SO) to token 'applicant'" out.txt || fail "unblock, wrong admin PIN: $(cat out.txt)"
token_flags | grep -q "user PIN locked" || fail "a refused unblock changed the lock: $(token_flags)"
PINS=$'adm1n234\nnewuser1' tok unblock --token applicant
[ "$rc" = 0 ] && grep -q "the user PIN was locked; it is unblocked and set anew" out.txt || fail "unblock: $(cat out.txt)"
token_flags | grep -q "user PIN locked" && fail "still locked after unblock: $(token_flags)"
p11 --token-label applicant --login --pin newuser1 --list-objects >p11.out 2>&1 || fail "pkcs11-tool login: $(cat p11.out)"
check "token unblock: a wrong admin PIN changes nothing; the admin PIN sets a new user PIN that pkcs11-tool accepts"

# 3. Enrollment onto this token: RSA-2048, since it cannot make P-256 keys.
source "$here/etoken_lib.sh"
etoken_served_application
check "application 1 (Yamada) approved, notice delivered; jitsuind on $HTTPS_URL"
state_before="$(ra suzuki application-show --id 1 --json | jq -r .state)"
PINS="$(printf '%s\n' "$(cat app1.pin)" newuser1)" tok enroll --token applicant --server "$HTTPS_URL" --application 1 \
  --ca "$ROOT_PEM" --algorithm p256
[ "$rc" = 1 ] && grep -q "token 'applicant' (IBM Corp. IBM SoftTok) cannot generate p256 keys; it can make rsa2048 (--algorithm rsa2048). Nothing was sent to the server." out.txt ||
  fail "p256 on a token without EC: $(cat out.txt)"
state="$(ra suzuki application-show --id 1 --json | jq -r .state)"
[ "$state" = "$state_before" ] || fail "the refused p256 moved the application ($state_before -> $state)"
rc=0
"$JITSUIN" token enroll --module "$MODULE" --token applicant --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" \
  --pin-fd 3 3< <(printf '%s\n' "$(cat app1.pin)" newuser1; download_pin taro.yamada@sakura.example.jp) >enroll.out 2>&1 ||
  rc=$?
cat enroll.out
[ "$rc" = 0 ] || fail "token enroll: $(cat enroll.out)"
grep -q "generated RSA-2048 key on the token" enroll.out && grep -q "is on token 'applicant' with the key's id" enroll.out ||
  fail "token enroll: $(cat enroll.out)"
p11 --token-label applicant --login --pin newuser1 --list-objects >objects.txt 2>/dev/null
key_id="$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects.txt)"
[ "$(grep -c '^Private Key Object' objects.txt)" = 1 ] && [ -n "$key_id" ] || fail "not one key: $(cat objects.txt)"
awk '/^Private Key Object/{k=1} k && /Access:/{print; exit}' objects.txt | grep -q "sensitive, always sensitive, never extractable" ||
  fail "the private key is extractable or not sensitive: $(cat objects.txt)"
etoken_cert_verifies "$MODULE" applicant "$key_id"
openssl x509 -in cert.pem -noout -text | grep -q "Public-Key: (2048 bit)" || fail "not an RSA-2048 key"
[ "$(ra suzuki application-show --id 1 --json | jq -r .state)" = issued ] || fail "application 1 is not issued"
check "token enroll on opencryptoki: RSA-2048 key and certificate with one ID, key never extractable, openssl verify OK"
