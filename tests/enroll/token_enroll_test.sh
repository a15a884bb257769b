#!/usr/bin/env bash
# End to end (issue 10): two SoftHSM2 tokens — the CA's embedded token under the home and the
# applicant's "eToken" with its own SOFTHSM2_CONF — a jitsuind on loopback whose outbox worker
# mails through a real SMTP server (tests/ra/smtp_sink.py, aiosmtpd), applications approved and
# their notices mailed and delivered through the RA, then `jitsuin token enroll` with its PINs on
# --pin-fd and the download PIN taken from the mail caught by the sink. Checked independently:
# pkcs11-tool lists the private key and the certificate with the same ID, GnuTLS p11tool cannot
# export the key, and `openssl verify` accepts the certificate read back from the token with
# pkcs11-tool against the CA's published certificates. Also: a server not proven by --ca is refused
# before any PIN is sent, a wrong application PIN says how many tries are left, a wrong download PIN
# is asked again, enrolling an issued application is refused, and `token renew` on the token
# holding Yamada's certificate guides through init, then `token renew --init` puts Ito's
# certificate (RSA-2048 key) on the same, initialised token.
# Usage: tests/enroll/token_enroll_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR  (KEEP=1 keeps the temp folder)
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
SOURCE_DIR="$(realpath "$3")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULE=/usr/lib/softhsm/libsofthsm2.so
PY=/usr/bin/python3
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW SOFTHSM2_CONF
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/token-enroll.XXXXXX")"
source "$here/jitsuind_start.sh"
sink_pid=""
trap 'kill_jitsuind; [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
fail() {
  echo "token_enroll_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }

# The SMTP sink and a configuration that mails through it, with the outbox worker every second.
$PY "$SOURCE_DIR/tests/ra/smtp_sink.py" "$work/received" >sink.out 2>sink.err &
sink_pid=$!
for _ in $(seq 1 100); do [ -s sink.out ] && break; sleep 0.1; done
smtp_port="$(head -n1 sink.out)"
[ -n "$smtp_port" ] || fail "the SMTP sink did not start: $(cat sink.err)"
$PY - "$SOURCE_DIR/config/jitsuin.json" "$work/jitsuin.json" "$smtp_port" <<'EOF'
import json, os, sys
src, dst, port = sys.argv[1:]
c = json.load(open(src))
c["ca"]["profiles_dir"] = os.path.join(os.path.dirname(src), c["ca"]["profiles_dir"])
c["mail"]["smtp_url"] = "smtp://127.0.0.1:" + port
c["server"]["outbox_interval_seconds"] = 1
json.dump(c, open(dst, "w"), indent=1)
EOF
export JITSUIN_CONFIG="$work/jitsuin.json"

# The RA: staff, Yamada's bundle plus Ito, documents, check, approval, PINs, notices mailed and delivered.
home="$work/home"
source "$here/ra_fixture.sh"
ra_fixture_files
ra_staff "$home"
ra() { JITSUIN_SESSION_FILE="$home.$1" "$JITSUIN" --home "$home" ra "${@:2}"; }
for who in suzuki takahashi; do
  JITSUIN_SESSION_FILE="$home.$who" "$JITSUIN" --home "$home" login --user "$who" --password-file "$who.pw" >/dev/null
done
ra suzuki bundle-create --file bundle.json >/dev/null
ra suzuki application-add --bundle 1 --file form5.json >/dev/null
ra suzuki document-add --bundle 1 --kind registration_current --issued "$(days_ago '10 days')" >/dev/null
ra suzuki document-add --bundle 1 --kind representative_seal --issued "$(days_ago '10 days')" >/dev/null
for app in 1 2; do
  ra suzuki document-add --bundle 1 --application $app --kind residence_record --issued "$(days_ago '20 days')" >/dev/null
  ra suzuki document-add --bundle 1 --application $app --kind personal_seal --issued "$(days_ago '20 days')" >/dev/null
done
ra suzuki check --bundle 1 >/dev/null
ra takahashi approve --bundle 1 >/dev/null
for app in 1 2; do
  ra suzuki issue-pin --application $app --no-letter --json | jq -r .pin >"app$app.pin"
  ra suzuki mail-sent --application $app --tracking "1234-5678-900$app" >/dev/null
  ra suzuki mail-event --tracking "1234-5678-900$app" --event delivered >/dev/null
done
grep -qE '^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$' app1.pin || fail "no application PIN: $(cat app1.pin)"
"$JITSUIN" --home "$home" crl publish >/dev/null   # the CRLs and CA certificates jitsuind serves over HTTP
start_jitsuind "$home" server
check "the RA approved applications 1 (Yamada) and 2 (Ito); notices mailed and delivered; jitsuind on $HTTPS_URL"

# The applicant's eToken: a SoftHSM2 token of its own, initialised with the agent.
mkdir -p etoken/tokens
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/etoken/tokens" >etoken/softhsm2.conf
export SOFTHSM2_CONF="$work/etoken/softhsm2.conf"
"$JITSUIN" token init --label etoken --pin-fd 3 3< <(printf '%s\n' so-pin-1234 user-pin-5678) >init.out 2>&1 ||
  fail "token init: $(cat init.out)"
objects() { pkcs11-tool --module "$MODULE" --token-label etoken --login --pin "${1:-user-pin-5678}" --list-objects 2>/dev/null; }

# The download PIN of an application, from the mail the sink caught (decoded by Python's email package).
download_pin() {   # download_pin ADDRESS
  local f
  for _ in $(seq 1 300); do
    f="$(grep -l "^X-Jitsuin-Template: download_pin" $(grep -rl "^X-RcptTo: .*$1" received/new 2>/dev/null) /dev/null 2>/dev/null |
         head -n1 || true)"
    [ -n "$f" ] && break
    sleep 0.1
  done
  [ -n "$f" ] || { echo "no download PIN mail for $1" >&2; return 1; }
  $PY "$SOURCE_DIR/tests/ra/decode_mail.py" "$f" | jq -r .body | grep -m1 -oP '(Download PIN|ダウンロードPIN): \K\S+'
}
access_log_has() { tail -n +2 server.out | jq -r .target | grep -qx "/api/v1/$1"; }

# 1. A server not proven by --ca is refused before anything is sent.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj "/CN=Other Root" \
  -days 2 -out other-root.pem 2>/dev/null
rc=0
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca other-root.pem --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" user-pin-5678) >untrusted.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "is not proven by the root other-root.pem" untrusted.out || fail "untrusted server: $(cat untrusted.out)"
! access_log_has enroll.status || fail "the application PIN went to a server not proven by --ca"
rc=0
"$JITSUIN" token enroll --server "${HTTPS_URL/https/http}" --application 1 --ca "$ROOT_PEM" --pin-fd 3 3</dev/null \
  >plain.out 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "must be an https:// URL" plain.out || fail "plain HTTP accepted: $(cat plain.out)"
check "a server not proven by --ca, and plain HTTP, are refused before any PIN is sent"

# 2. A wrong application PIN: the hint with the tries left; nothing on the token.
rc=0
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "AAAA-BBBB-CCCC-DDDD" user-pin-5678) >wrong.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "the application PIN (申請PIN) is wrong: [0-9]* tries left" wrong.out ||
  fail "wrong application PIN: $(cat wrong.out)"
objects | grep -q "Object;" && fail "a wrong application PIN left something on the token"
check "a wrong application PIN says how many tries are left; the token is untouched"

# 3. The enrollment: application PIN, token PIN, then a wrong download PIN and the right one from the mail.
wrong_then_right() {   # wrong_then_right ADDRESS: a mistyped download PIN, then the one mailed
  local pin alt
  pin="$(download_pin "$1")"
  alt=2; [ "${pin: -1}" = 2 ] && alt=3
  printf '%s\n%s\n' "${pin%?}$alt" "$pin"
}
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" user-pin-5678; wrong_then_right taro.yamada@sakura.example.jp) >enroll.out 2>&1 ||
  fail "token enroll: $(cat enroll.out)"
cat enroll.out
grep -q "the download PIN (ダウンロードPIN) was mailed to t" enroll.out || fail "the agent did not say where the PIN went"
grep -q "the download PIN is wrong ([0-9]* tries left); type it again" enroll.out || fail "no second chance: $(cat enroll.out)"
grep -q "is on token 'etoken' with the key's id" enroll.out || fail "no certificate on the token: $(cat enroll.out)"
check "token enroll: key on the token, CSR sent, download PIN from the SMTP sink (wrong once), certificate written"

# Independent checks: pkcs11-tool, p11tool, openssl.
objects >objects.txt
key_id="$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects.txt)"
[ -n "$key_id" ] || fail "no private key on the token: $(cat objects.txt)"
grep -A8 '^Private Key Object' objects.txt | grep -q "never extractable" || fail "the key is extractable: $(cat objects.txt)"
grep -A8 '^Private Key Object' objects.txt | grep -qw "sensitive" || fail "the key is not sensitive: $(cat objects.txt)"
[ "$(grep -c '^Certificate Object' objects.txt)" = 3 ] || fail "expected the certificate and 2 CA certificates: $(cat objects.txt)"
pkcs11-tool --module "$MODULE" --token-label etoken --read-object --type cert --id "$key_id" -o cert.der >/dev/null 2>&1 ||
  fail "no certificate with the key's ID $key_id: $(cat objects.txt)"
pct="$(sed 's/../%&/g' <<<"$key_id")"
! GNUTLS_PIN=user-pin-5678 p11tool --provider "$MODULE" --login --export "pkcs11:token=etoken;id=$pct;type=private" \
  >/dev/null 2>&1 || fail "p11tool exported the private key"
openssl x509 -inform der -in cert.der -out cert.pem
# The CA certificates as relying parties get them: from jitsuind's plain-HTTP publication point.
for ca in issuing root; do
  curl -sS --fail "$HTTP_URL/ca/$ca.crt" -o "$ca.der" || fail "GET /ca/$ca.crt"
  openssl x509 -inform der -in "$ca.der" -out "$ca.pem"
done
openssl verify -CAfile root.pem -untrusted issuing.pem cert.pem >verify.out 2>&1 || fail "openssl verify: $(cat verify.out)"
openssl x509 -in cert.pem -noout -subject | grep -q "Taro Yamada" || fail "not Yamada's certificate"
# The certificate is for the key on the token: the public key pkcs11-tool reads matches.
pkcs11-tool --module "$MODULE" --token-label etoken --read-object --type pubkey --id "$key_id" -o pub.der >/dev/null 2>&1
cmp <(openssl pkey -pubin -inform der -in pub.der -outform der 2>/dev/null) <(openssl x509 -in cert.pem -noout -pubkey |
  openssl pkey -pubin -outform der) || fail "the certificate is not for the key on the token"
"$JITSUIN" token export-chain --out chain.pem
cmp <(openssl x509 -in chain.pem -outform der) cert.der || fail "export-chain does not start with the certificate"
check "pkcs11-tool: key and certificate share ID $key_id, key sensitive and never extractable; p11tool cannot export it; openssl verify OK"

# 4. Enrolling it again: refused, the application has its certificate.
rc=0
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" user-pin-5678) >again.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qE "already has its certificate|already_enrolled|already enrolled" again.out ||
  fail "a second enrollment of application 1: $(cat again.out)"
check "an issued application is not enrolled twice"

# 5. The same token for the next certificate: renew guides while the old one is there; --init does it.
rc=0
"$JITSUIN" token renew --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --pin-fd 3 3</dev/null >guide.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "still holds the old key and certificate" guide.out &&
  grep -q "Initialise the token now, right before the renewal enrollment" guide.out || fail "renew guidance: $(cat guide.out)"
objects | grep -q "Taro Yamada" || fail "renew without --init changed the token"
rc=0
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app2.pin)" user-pin-5678) >stale.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "token renew\` walks you through it" stale.out || fail "enroll onto a used token: $(cat stale.out)"
"$JITSUIN" token renew --init --yes --algorithm rsa2048 --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' so-pin-1234 so-pin-4321 user-pin-8765 "$(cat app2.pin)" user-pin-8765;
       download_pin hanako.ito@sakura.example.jp) >renew.out 2>&1 || fail "token renew --init: $(cat renew.out)"
grep -q "generated RSA-2048 key on the token" renew.out || fail "no RSA-2048 key: $(cat renew.out)"
objects user-pin-8765 >objects2.txt
grep -q "Taro Yamada" objects2.txt && fail "the old certificate survived the renewal's init"
pkcs11-tool --module "$MODULE" --token-label etoken --read-object --type cert \
  --id "$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects2.txt)" -o cert2.der >/dev/null 2>&1 ||
  fail "the renewal's certificate is not beside its key: $(cat objects2.txt)"
openssl x509 -inform der -in cert2.der -out cert2.pem
openssl verify -CAfile root.pem -untrusted issuing.pem cert2.pem >/dev/null || fail "the renewal's certificate does not verify"
openssl x509 -in cert2.pem -noout -subject | grep -q "Hanako Ito" || fail "not Ito's certificate"
check "token renew: guides while the old certificate is there, then --init initialises and enrolls on the same token"

# The RA's view and the audit chain.
states="$(ra suzuki application-list --bundle 1 --json | jq -c '[.[] | .state]')"
[ "$states" = '["issued","issued"]' ] || fail "application states: $states"
"$JITSUIN" --home "$home" audit verify >audit.out 2>&1 || fail "audit verify: $(cat audit.out)"
if grep -q -e "$(cat app1.pin)" -e "user-pin-5678" server.out server.err; then fail "a PIN in the server's logs"; fi
stop_jitsuind
echo "token_enroll_test: the applicant's path from the application PIN to a certificate on the eToken works"
