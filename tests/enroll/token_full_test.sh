#!/usr/bin/env bash
# "Token full" (issue 10, seed 000): SoftHSM2 never answers CKR_DEVICE_MEMORY; when its token folder
# cannot grow it answers CKR_OK to C_CreateObject while the object file is cut short, and the object
# is gone once the module is opened again. Here the applicant's eToken (a SoftHSM2 token of its own)
# runs `jitsuin token enroll` with RLIMIT_FSIZE of 1 KiB (`ulimit -f 1`, SIGXFSZ ignored, in a
# subshell): the P-256 key's object files fit, the certificate's do not. The agent reads the
# certificate and chain back in a new process (jitsuin token show --login --json) and must say the token is full (en and ja),
# exit non-zero and not claim the certificate is on the token. Then, without the limit, the same
# enroll with the same download PIN completes (collect is idempotent: the same certificate, no second
# one), and `openssl verify` accepts the certificate read back with pkcs11-tool.
# Usage: tests/enroll/token_full_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" token_full_test "$@"
unset JITSUIN_TEST_NOW SOFTHSM2_CONF
show_on_failure=(server.err sink.err)
MODULE=/usr/lib/softhsm/libsofthsm2.so
source "$here/etoken_lib.sh"
etoken_served_application
check "application 1 (Yamada) approved, notice delivered; jitsuind on $HTTPS_URL"

etoken_init
objects() { pkcs11-tool --module "$MODULE" --token-label etoken --login --pin etoken-user-5678 --list-objects 2>/dev/null; }
certs_in_db() { sqlite3 "$home/jitsuin.db" 'SELECT count(*) FROM certificates'; }
certs_before="$(certs_in_db)"

# 1. The eToken's folder cannot grow past 1 KiB per file: the key fits, the certificate does not.
rc=0
( trap '' XFSZ; ulimit -f 1
  exec "$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
    3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678; download_pin taro.yamada@sakura.example.jp) ) >full.out 2>&1 || rc=$?
cat full.out
[ "$rc" != 0 ] || fail "token enroll on a full token exited 0: $(cat full.out)"
grep -q "the token is full" full.out && grep -q "トークンの空き容量が不足しています" full.out ||
  fail "no 'token full' message: $(cat full.out)"
grep -q "is not on token 'etoken'" full.out || fail "the message does not say what is missing: $(cat full.out)"
! grep -q "is on token 'etoken' with the key's id" full.out || fail "the agent claimed success on a full token"
objects >full-objects.txt
[ "$(grep -c '^Private Key Object' full-objects.txt)" = 1 ] || fail "the key is not on the token: $(cat full-objects.txt)"
! grep -q '^Certificate Object' full-objects.txt || fail "a certificate is on the token after all: $(cat full-objects.txt)"
[ "$(certs_in_db)" = $((certs_before + 1)) ] || fail "not one certificate issued"
check "a token that cannot keep the certificate: 'token full' (en, ja), exit $rc, the key on it and no certificate"

# 2. Space again: the same enroll with the same download PIN completes, with the same certificate.
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678; download_pin taro.yamada@sakura.example.jp) >again.out 2>&1 ||
  fail "token enroll after freeing space: $(cat again.out)"
cat again.out
grep -q "continuing: the certificate was issued but is not on this token" again.out || fail "did not resume: $(cat again.out)"
grep -q "is on token 'etoken' with the key's id" again.out || fail "no certificate on the token: $(cat again.out)"
[ "$(certs_in_db)" = $((certs_before + 1)) ] || fail "a second certificate was issued"
objects >objects.txt
key_id="$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects.txt)"
[ "$(grep -c '^Private Key Object' objects.txt)" = 1 ] || fail "not one key: $(cat objects.txt)"
etoken_cert_verifies "$MODULE" etoken "$key_id"
check "without the limit the same enroll (same download PIN) completes: the one certificate, openssl verify OK"
