#!/usr/bin/env bash
# Issue 20 item 10: the keys jitsuin generates on a token may sign and nothing else. SoftHSM2 fills
# every usage attribute a template leaves out with its own default (an EC key then lists "decrypt,
# sign, unwrap"), so each is set explicitly. pkcs11-tool --list-objects, independent of jitsuin,
# reads the flags back: the CA's own keys from `ca init` (an RSA-3072 root, a P-256 issuing CA, on
# the embedded token) and the applicant's keys from `jitsuin token enroll` on an eToken (P-256 as
# the profile's first choice, and RSA-2048 with --algorithm) show "Usage: sign" (private) and
# "Usage: verify" (public), nothing more. (S/MIME keys that decrypt or derive: AgentToken tests.)
# Usage: tests/enroll/token_key_usage_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" token_key_usage_test "$@"
unset JITSUIN_TEST_NOW SOFTHSM2_CONF
show_on_failure=(server.err sink.err)
MODULE=/usr/lib/softhsm/libsofthsm2.so

# usages LISTING: one line per key object, "private EC sign" / "public RSA verify", in listing order.
usages() {
  awk '/^(Private|Public) Key Object/ { if (kind != "") print kind, alg, use; kind = tolower($1); alg = $4; use = "-"; next }
       /^[A-Z]/ { if (kind != "") print kind, alg, use; kind = "" }
       kind != "" && /^ *Usage:/ { sub(/^ *Usage: */, ""); gsub(/, /, ","); use = $0 }
       END { if (kind != "") print kind, alg, use }' "$1"
}
# only_sign_verify LISTING WHAT: every key in the listing signs (private) or verifies (public) only.
only_sign_verify() {
  usages "$1" >"$1.usage"
  [ -s "$1.usage" ] || fail "$2: no keys listed: $(cat "$1")"
  local bad
  bad="$(awk '!(($1 == "private" && $3 == "sign") || ($1 == "public" && $3 == "verify"))' "$1.usage")"
  [ -z "$bad" ] || fail "$2: keys that may do more than sign/verify: $bad (pkcs11-tool: $(cat "$1"))"
}

# The CA and its staff (sink_config.sh), applications 1 (Yamada) and 2 (Ito) approved with their
# application PINs and notices delivered, jitsuind serving.
source "$here/etoken_lib.sh"
etoken_maildir="$work/maildir"
source "$SOURCE_DIR/tests/enroll/sink_config.sh"
sink_ra_home
ra() { JITSUIN_SESSION_FILE="$work/$1.session" "$JITSUIN" --home "$home" ra "${@:2}"; }
for who in suzuki takahashi; do
  JITSUIN_SESSION_FILE="$work/$who.session" "$JITSUIN" --home "$home" login --user "$who" --password-file "$who.pw" >/dev/null
done
ra suzuki bundle-create --file bundle.json >/dev/null
ra suzuki application-add --bundle 1 --file form5.json >/dev/null
ra suzuki document-add --bundle 1 --kind registration_current --issued "$(days_ago '10 days')" >/dev/null
ra suzuki document-add --bundle 1 --kind representative_seal --issued "$(days_ago '10 days')" >/dev/null
for app in 1 2; do
  ra suzuki document-add --bundle 1 --application $app --kind residence_record --issued "$(days_ago '20 days')" >/dev/null
  ra suzuki document-add --bundle 1 --application $app --kind personal_seal --issued "$(days_ago '20 days')" >/dev/null
done
ra suzuki check --bundle 1 >check.out 2>&1 || fail "check: $(cat check.out)"
ra takahashi approve --bundle 1 >/dev/null || fail "approve after: $(cat check.out)"
for app in 1 2; do
  ra suzuki issue-pin --application $app --no-letter --json | jq -r .pin >"app$app.pin"
  ra suzuki mail-sent --application $app --tracking "1234-5678-900$app" >/dev/null
  ra suzuki mail-event --tracking "1234-5678-900$app" --event delivered >/dev/null
done
"$JITSUIN" --home "$home" crl publish >/dev/null
start_jitsuind "$home" server
pids[server]=$JITSUIND_PID

# 1. The CA's own keys, on the embedded token under the home.
SOFTHSM2_CONF="$home/softhsm2.conf" pkcs11-tool --module "$MODULE" --token-label jitsuin-ca --login \
  --pin "$(cat "$home/ca.pin")" --list-objects >ca-objects.txt 2>&1 || fail "pkcs11-tool on the CA token: $(cat ca-objects.txt)"
only_sign_verify ca-objects.txt "the CA token"
grep -q '^private RSA sign$' ca-objects.txt.usage && grep -q '^private EC sign$' ca-objects.txt.usage &&
  grep -q '^public RSA verify$' ca-objects.txt.usage && grep -q '^public EC verify$' ca-objects.txt.usage ||
  fail "the CA token lacks its RSA root or EC issuing key pair: $(cat ca-objects.txt.usage)"
check "ca init: the root (RSA) and issuing (EC) keys sign only, their public keys verify only: $(sort -u ca-objects.txt.usage | paste -sd ';')"

# 2. The applicant's key from `jitsuin token enroll` (P-256, the profile's first algorithm).
etoken_init
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678; download_pin taro.yamada@sakura.example.jp) >enroll.out 2>&1 ||
  fail "token enroll: $(cat enroll.out)"
pkcs11-tool --module "$MODULE" --token-label etoken --login --pin etoken-user-5678 --list-objects >etoken-objects.txt 2>&1 ||
  fail "pkcs11-tool on the eToken: $(cat etoken-objects.txt)"
only_sign_verify etoken-objects.txt "the eToken"
[ "$(sort etoken-objects.txt.usage | paste -sd ';')" = "private EC sign;public EC verify" ] ||
  fail "not one EC key pair on the eToken: $(cat etoken-objects.txt.usage)"
check "token enroll: the P-256 key signs only, its public key verifies only"

# 3. Ito's enrollment onto a token of her own with an RSA-2048 key (--algorithm rsa2048).
etoken_softhsm rsatoken
export SOFTHSM2_CONF="$work/rsatoken/softhsm2.conf"
"$JITSUIN" token init --label rsatoken --pin-fd 3 3< <(printf '%s\n' rsa-admin-1234 rsa-user-5678) >init-rsa.out 2>&1 ||
  fail "token init (rsatoken): $(cat init-rsa.out)"
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --algorithm rsa2048 --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app2.pin)" rsa-user-5678; download_pin hanako.ito@sakura.example.jp) >enroll-rsa.out 2>&1 ||
  fail "token enroll --algorithm rsa2048: $(cat enroll-rsa.out)"
pkcs11-tool --module "$MODULE" --token-label rsatoken --login --pin rsa-user-5678 --list-objects >rsa-objects.txt 2>&1 ||
  fail "pkcs11-tool on the RSA token: $(cat rsa-objects.txt)"
only_sign_verify rsa-objects.txt "the RSA token"
[ "$(sort rsa-objects.txt.usage | paste -sd ';')" = "private RSA sign;public RSA verify" ] ||
  fail "not one RSA key pair on the RSA token: $(cat rsa-objects.txt.usage) ($(cat enroll-rsa.out))"
check "token enroll --algorithm rsa2048: the RSA key signs only, its public key verifies only"
