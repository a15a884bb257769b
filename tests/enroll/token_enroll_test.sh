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
# is asked again, enrolling an issued application is refused; Ito's enrollment killed while it
# waits for the mailed download PIN resumes with the key already on her token (no second key, no
# second certificate, no second download PIN).
# Then the renewal through the RA's renewal path (README "### Renewal on the same token", run
# verbatim): the CA, the RA's day and the first enrollments run on the test clock (JITSUIN_TEST_NOW)
# 315 days ago, so that Yamada's one-year certificate is 50 days from its end today; on the real
# clock `ra notify-expiring` mails the 60-day notice (caught by the sink), `ra renewal-create` and the
# RA's check, approval and application PIN, `token renew` on the eToken that still holds the old
# certificate explains and changes nothing, `token renew --init` initialises it and enrolls the
# renewal: the new certificate beside its new key (pkcs11-tool, openssl verify), the old one gone
# from the token and revoked as superseded (openssl crl on a CRL published now).
# Usage: tests/enroll/token_enroll_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" token_enroll_test "$@"
unset JITSUIN_TEST_NOW SOFTHSM2_CONF
show_on_failure=(server.err sink.err)
MODULE=/usr/lib/softhsm/libsofthsm2.so

# The first part runs 315 days ago (the test clock, for jitsuin and jitsuind alike); the CA's
# folder is var/ in the current folder, as in README's walkthrough.
T0="$(($(date +%s) - 315 * 86400))"
export JITSUIN_TEST_NOW="$T0"
home="$work/var"
# The SMTP sink delivers into the home's maildir folder (where README's applicant reads mail) and a
# configuration that mails through it, with the outbox worker every second, a TLS certificate that
# is still valid today and rate limits above the PIN limits (the test clock does not move).
mkdir -p "$home"
start_smtp_sink "$home/maildir"
pids[sink]=$SMTP_SINK_PID
test_config "$work/jitsuin.json" mail.smtp_url="$SMTP_URL" server.outbox_interval_seconds=1 server.tls_days=398 \
  server.auth_rate_per_account=1000 server.auth_rate_per_address=1000
export JITSUIN_CONFIG="$work/jitsuin.json"

# The RA: staff, Yamada's bundle plus Ito, documents, check, approval, PINs, notices mailed and delivered.
source "$here/ra_fixture.sh"
today="$(TZ=Asia/Tokyo date -d "@$T0" +%F)"   # the RA's "today" on the test clock
ra_fixture_files
jq '.applicants[0].validity_years = 1' bundle.json >bundle1.json
ra_staff "$home"
ra() { JITSUIN_SESSION_FILE="$work/$1.session" "$JITSUIN" --home "$home" ra "${@:2}"; }
for who in suzuki takahashi; do
  JITSUIN_SESSION_FILE="$work/$who.session" "$JITSUIN" --home "$home" login --user "$who" --password-file "$who.pw" >/dev/null
done
ra suzuki bundle-create --file bundle1.json >/dev/null
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
pids[server]=$JITSUIND_PID
check "the RA approved applications 1 (Yamada) and 2 (Ito); notices mailed and delivered; jitsuind on $HTTPS_URL"

# The applicant's eToken: a SoftHSM2 token of its own, initialised with the agent.
source "$here/etoken_lib.sh"
etoken_maildir="$home/maildir"
etoken_init
objects() { pkcs11-tool --module "$MODULE" --token-label etoken --login --pin "${1:-etoken-user-5678}" --list-objects 2>/dev/null; }

access_log_has() { tail -n +2 server.out | jq -r .target | grep -qx "/api/v1/$1"; }

# 1. A server not proven by --ca is refused before anything is sent.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj "/CN=Other Root" \
  -days 2 -out other-root.pem 2>/dev/null
rc=0
"$JITSUIN" token enroll --server "$HTTPS_URL" --application 1 --ca other-root.pem --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678) >untrusted.out 2>&1 || rc=$?
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
  3< <(printf '%s\n' "AAAA-BBBB-CCCC-DDDD" etoken-user-5678) >wrong.out 2>&1 || rc=$?
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
  3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678; wrong_then_right taro.yamada@sakura.example.jp) >enroll.out 2>&1 ||
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
pct="$(sed 's/../%&/g' <<<"$key_id")"
! GNUTLS_PIN=etoken-user-5678 p11tool --provider "$MODULE" --login --export "pkcs11:token=etoken;id=$pct;type=private" \
  >/dev/null 2>&1 || fail "p11tool exported the private key"
# The CA certificates as relying parties get them: from jitsuind's plain-HTTP publication point.
etoken_cert_verifies "$MODULE" etoken "$key_id"
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
  3< <(printf '%s\n' "$(cat app1.pin)" etoken-user-5678) >again.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qE "already has its certificate|already_enrolled|already enrolled" again.out ||
  fail "a second enrollment of application 1: $(cat again.out)"
check "an issued application is not enrolled twice"

# 5. Ito's enrollment, interrupted after enroll.start: the agent is killed while it waits for the
# download PIN (PINs on a FIFO); run again, it resumes with the key on her token and the PIN mailed.
etoken_softhsm etoken2
ito() { SOFTHSM2_CONF="$work/etoken2/softhsm2.conf" "$@"; }
ito "$JITSUIN" token init --label ito --pin-fd 3 3< <(printf '%s\n' ito-admin-1234 ito-user-5678) >init2.out 2>&1 ||
  fail "token init (Ito): $(cat init2.out)"
ito_objects() { ito pkcs11-tool --module "$MODULE" --token-label ito --login --pin ito-user-5678 --list-objects 2>/dev/null; }
certs_in_db() { sqlite3 "$home/jitsuin.db" 'SELECT count(*) FROM certificates'; }
certs_before="$(certs_in_db)"
mkfifo pins.fifo
ito "$JITSUIN" token enroll --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --pin-fd 3 3<pins.fifo >killed.out 2>&1 &
agent=$!
pids[agent]=$agent
exec 4>pins.fifo
printf '%s\n' "$(cat app2.pin)" ito-user-5678 >&4
download_pin hanako.ito@sakura.example.jp >/dev/null || fail "no download PIN mail for Ito: $(cat killed.out)"
for _ in $(seq 1 300); do grep -q "was mailed to" killed.out && break; sleep 0.1; done
grep -q "was mailed to h\*\*\*@sakura.example.jp" killed.out || fail "the agent is not at the download PIN: $(cat killed.out)"
kill -KILL "$agent"
wait "$agent" 2>/dev/null || true
exec 4>&-
[ "$(ra suzuki application-show --id 2 --json | jq -r .state)" = enrolled ] || fail "application 2 is not enrolled"
ito_objects >ito1.txt
[ "$(grep -c '^Private Key Object' ito1.txt)" = 1 ] && ! grep -q '^Certificate Object' ito1.txt ||
  fail "after the interruption: $(cat ito1.txt)"
ito "$JITSUIN" token enroll --server "$HTTPS_URL" --application 2 --ca "$ROOT_PEM" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat app2.pin)" ito-user-5678; download_pin hanako.ito@sakura.example.jp) >resume.out 2>&1 ||
  fail "the resumed enrollment: $(cat resume.out)"
cat resume.out
grep -q "continuing: the download PIN was mailed when this application was enrolled" resume.out ||
  fail "the agent did not say it continues: $(cat resume.out)"
! grep -q "generated .* key on the token" resume.out || fail "a second key was generated: $(cat resume.out)"
ito_objects >ito2.txt
ito_key="$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' ito2.txt)"
[ "$(grep -c '^Private Key Object' ito2.txt)" = 1 ] && [ "$ito_key" = "$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' ito1.txt)" ] ||
  fail "not the key made before the interruption: $(cat ito1.txt) / $(cat ito2.txt)"
ito pkcs11-tool --module "$MODULE" --token-label ito --read-object --type cert --id "$ito_key" -o ito.der >/dev/null 2>&1 ||
  fail "no certificate beside Ito's key: $(cat ito2.txt)"
openssl x509 -inform der -in ito.der -out ito.pem
openssl verify -CAfile root.pem -untrusted issuing.pem ito.pem >/dev/null || fail "Ito's certificate does not verify"
[ "$(certs_in_db)" = $((certs_before + 1)) ] || fail "$(($(certs_in_db) - certs_before)) certificates issued, not 1"
[ "$(grep -l '^X-Jitsuin-Template: download_pin' $(grep -rl '^X-RcptTo: .*hanako.ito' "$home/maildir/new") | wc -l)" = 1 ] ||
  fail "more than one download PIN mail for Ito"
check "an enrollment killed after enroll.start resumes: the same key, the mailed download PIN, one certificate"

# The first part's RA view and audit chain; no PIN in the server's logs.
states="$(ra suzuki application-list --bundle 1 --json | jq -c '[.[] | .state]')"
[ "$states" = '["issued","issued"]' ] || fail "application states: $states"
"$JITSUIN" --home "$home" audit verify >audit.out 2>&1 || fail "audit verify: $(cat audit.out)"
if grep -q -e "$(cat app1.pin)" -e "etoken-user-5678" -e "ito-user-5678" server.out server.err; then
  fail "a PIN in the server's logs"
fi
stop_served "$JITSUIND_PID" server.err
JITSUIND_PID=""

# 6. 315 days later, today (the real clock): Yamada's certificate is 50 days from its end. README
# "### Renewal on the same token" runs verbatim in this folder, laid out as the walkthrough leaves
# it (var/, the eToken's etoken/softhsm2.conf and PINs, the operators' password files).
unset JITSUIN_TEST_NOW
start_jitsuind "$home" server
pids[server]=$JITSUIND_PID
yamada_serial="$(openssl x509 -in cert.pem -noout -serial | cut -d= -f2)"
{ echo "set -euo pipefail"; $PY "$here/readme_blocks.py" "$SOURCE_DIR/README.md" "### Renewal on the same token" 3; } >renewal.sh ||
  fail "README: $(cat renewal.sh)"
PATH="$BINDIR:$PATH" SERVER="$HTTPS_URL" timeout 600 bash -v renewal.sh >renewal.out 2>renewal.err || {
  cat renewal.err renewal.out >&2
  fail "a README command of the renewal failed (see above)"
}
cat renewal.out
renewal="$(grep -oP 'renewal application \K[0-9]+' renewal.out)"
[ "$renewal" = 3 ] || fail "the renewal application is $renewal, not 3"
# The 60-day expiry notice went to Yamada through the SMTP sink (jitsuind's worker delivered it).
grep -l '^X-Jitsuin-Template: expiry_notice' $(grep -rl '^X-RcptTo: .*taro.yamada' "$home/maildir") >/dev/null 2>&1 ||
  fail "no expiry notice mail to Yamada"
grep -q "still holds the old key and certificate" renewal.err &&
  grep -q "Initialise the token now, right before the renewal enrollment" renewal.err || fail "no renewal guidance"
grep -q "generated RSA-2048 key on the token" renewal.out || fail "no RSA-2048 key for the renewal"
# Independently: the token holds the new key and certificate only; the certificate verifies.
objects etoken-user-8765 >objects3.txt
[ "$(grep -c '^Private Key Object' objects3.txt)" = 1 ] && [ "$(grep -c '^Certificate Object' objects3.txt)" = 3 ] ||
  fail "not one key and its certificate with the 2 CA certificates: $(cat objects3.txt)"
pkcs11-tool --module "$MODULE" --token-label etoken --read-object --type cert \
  --id "$(awk '/^Private Key Object/{k=1} k && /ID:/{print $2; exit}' objects3.txt)" -o cert3.der >/dev/null 2>&1 ||
  fail "the renewal's certificate is not beside its key: $(cat objects3.txt)"
openssl x509 -inform der -in cert3.der -out cert3.pem
openssl verify -CAfile root.pem -untrusted issuing.pem cert3.pem >/dev/null || fail "the renewal's certificate does not verify"
openssl x509 -in cert3.pem -noout -subject | grep -q "Taro Yamada" || fail "not Yamada's certificate"
new_serial="$(openssl x509 -in cert3.pem -noout -serial | cut -d= -f2)"
[ "$new_serial" != "$yamada_serial" ] || fail "the renewal returned the old certificate"
[ "$(ra suzuki application-show --id 3 --json | jq -r '.state, .renewal_of' | paste -sd' ')" = "issued 1" ] ||
  fail "application 3: $(ra suzuki application-show --id 3 --json)"
# The old certificate: revoked as superseded when the renewal's was issued (RA-7), on a CRL published now.
"$JITSUIN" --home "$home" crl publish >/dev/null
openssl crl -inform der -in "$home/crl/issuing.crl" -noout -text >crl.txt
grep -A6 "Serial Number: $yamada_serial" crl.txt | grep -q "Superseded" ||
  fail "Yamada's old certificate $yamada_serial is not on the CRL as superseded: $(cat crl.txt)"
! grep -q "Serial Number: $new_serial" crl.txt || fail "the renewal's certificate is on the CRL"
check "renewal through the RA: expiry notice, renewal-create, approval, token renew guides, --init enrolls on the same token; old certificate gone from the token and superseded"

"$JITSUIN" --home "$home" audit verify >audit.out 2>&1 || fail "audit verify: $(cat audit.out)"
if grep -q -e "etoken-user-8765" -e "etoken-admin-4321" server.out server.err; then fail "a PIN in the server's logs"; fi
stop_served "$JITSUIND_PID" server.err
echo "token_enroll_test: the applicant's path from the application PIN to a certificate on the eToken, and its renewal, work"
