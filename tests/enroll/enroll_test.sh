#!/usr/bin/env bash
# Issue 10, the server side of enrollment, run for real (CTest jitsuind_enroll): the built jitsuind
# on loopback on a fresh home (embedded SoftHSM2 CA token, SQLite file), a real SMTP sink
# (tests/ra/smtp_sink.py, aiosmtpd) catching the download PIN, curl and openssl as the applicant.
#  1. README "### The RA day over the API" then "## Enrollment" run verbatim: an application to
#     the posted notice, enroll.status, enroll.start with a CSR from `openssl req`, the download
#     PIN read from the mail, enroll.collect, `openssl verify` of the certificate with the chain.
#  2. The failures: wrong application PIN x5 -> locked, still locked after a restart; a bad CSR
#     self-signature and a compromised key refused without counting; wrong, expired (test clock)
#     and re-issued (old) download PINs; two collects racing -> one certificate; the RA's view.
#  3. `jitsuin audit verify` after the run.
# Usage: tests/enroll/enroll_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR   (KEEP=1 keeps the temp folder)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" jitsuind_enroll "$@"
unset JITSUIN_TEST_NOW
show_on_failure=(server.err sink.err)
# The SMTP sink, the config, the CA and the RA's staff in $work/home (sink_config.sh).
source "$here/sink_config.sh"
sink_ra_home

start_server() {   # start_server [ENV=VALUE...]
  : >server.out   # emptied before the start: a restart must not read the last run's ports
  env "$@" "$JITSUIND" --home "$home" >server.out 2>server.err &
  pid=$!
  pids[server]=$pid
  line="$(wait_served "$pid" server.out)"
  [[ "$line" =~ https=127\.0\.0\.1:([0-9]+) ]] || fail "no port: $line"
  API="https://127.0.0.1:${BASH_REMATCH[1]}/api/v1"
}
start_server
CACERT="$home/server/root.pem"
export API CACERT

# ---------------------------------------------------------------- 1. the README, verbatim
section() {   # section TITLE: the code blocks of README's section TITLE
  $PY "$here/readme_blocks.py" "$SOURCE_DIR/README.md" "$1"
}
{
  echo "set -euo pipefail"
  section "### The RA day over the API"
  # The application PIN of the first application, from the day's output (the RA hands it over on
  # the approval notice; here it is taken from ra.pin.issue's answer).
  echo 'PIN1=$(grep -m1 -oE "\"pin\": *\"[0-9A-Z-]+\"" day.out | grep -oE "[0-9A-Z]{4}(-[0-9A-Z]{4}){3}")'
  echo 'printf "%s\n" "$PIN1" >app1.pin'
  echo 'PIN2=$(grep -oE "\"pin\": *\"[0-9A-Z-]+\"" day.out | sed -n 2p | grep -oE "[0-9A-Z]{4}(-[0-9A-Z]{4}){3}")'
  echo 'printf "%s\n" "$PIN2" >app2.pin; printf "%s\n%s\n" "$APP1" "$APP2" >apps.txt'
  section "## Enrollment"
} >enroll.sh
MAILDIR="$work/maildir" SRC="$SOURCE_DIR" bash -v enroll.sh >day.out 2>day.err || {
  cat day.err day.out >&2
  fail "a README command failed (see above)"
}
cat day.out
APP1="$(sed -n 1p apps.txt)"; APP2="$(sed -n 2p apps.txt)"
[ -s applicant.pem ] || fail "no certificate from the README's blocks"
openssl verify -CAfile root.pem -untrusted issuing.pem applicant.pem >/dev/null || fail "openssl verify"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
[ "$(fp root.pem)" = "$(fp "$CACERT")" ] || fail "the chain's root is not the CA's root"
check "README: status, start, the download PIN by SMTP, collect, openssl verify with the chain"

# ---------------------------------------------------------------- helpers
call() {   # call NAME JSON-FILE: the answer in out.json, the HTTP status printed
  curl -sS --cacert "$CACERT" -o out.json -w '%{http_code}' --json @"$2" "$API/$1"
}
body() {   # body APP PINFILE [CSRFILE]: a request body with the PIN (and CSR) read from files
  if [ -n "${3:-}" ]; then
    jq -n --argjson id "$1" --rawfile pin "$2" --rawfile csr "$3" \
      '{application_id: $id, application_pin: ($pin | rtrimstr("\n")), csr: $csr}'
  else
    jq -n --argjson id "$1" --rawfile pin "$2" '{application_id: $id, application_pin: ($pin | rtrimstr("\n"))}'
  fi
}
dbody() { jq -n --argjson id "$1" --rawfile pin "$2" '{application_id: $id, download_pin: ($pin | rtrimstr("\n"))}'; }
reason() { jq -r .reason out.json; }
mails() { for f in "$work"/maildir/new/*; do $PY "$SOURCE_DIR/tests/ra/decode_mail.py" "$f"; done; }
download_pin_mails() {   # download_pin_mails [APPLICATION]: the PINs of the download PIN mails (of one application)
  mails | jq -r --arg n "${1:-}" 'select(.subject | contains("ダウンロードPIN")) |
    select($n == "" or (.subject | contains("申請番号 " + $n + "）"))) | .body' |
    grep -oE '[0-9A-Z]{4}(-[0-9A-Z]{4}){3}' || true
}
wait_download_pins() {   # wait_download_pins N: N download PIN mails in the sink (within 20 s)
  for _ in $(seq 1 200); do [ "$(download_pin_mails | wc -l)" -ge "$1" ] && return 0; sleep 0.1; done
  "$JITSUIN" --home "$home" outbox list >outbox.txt 2>&1 || true
  fail "$(download_pin_mails | wc -l) download PIN mails, not $1 (outbox: $(cat outbox.txt))"
}
ra_login() {
  jq -n --arg user "$1" --rawfile pw "$1.pw" '{user: $user, password: ($pw | rtrimstr("\n"))}' >login.json
  [ "$(call session.login login.json)" = 200 ] || fail "login $1: $(cat out.json)"
  jq -r .token out.json
}

# ---------------------------------------------------------------- 2. application PIN: lock-out
# Application 2's notice is posted now (the day left it pin_issued).
SUZUKI="$(ra_login suzuki)"
jq -n --argjson app "$APP2" '{application: $app, tracking: "1234-5678-9013"}' >mail.json
curl -sS --fail-with-body --cacert "$CACERT" -H "Authorization: Bearer $SUZUKI" --json @mail.json "$API/ra.mail.sent" >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k2.key -subj /CN=x -out k2.csr 2>/dev/null
printf 'AAAA-AAAA-AAAA-AAAA\n' >wrong.pin
body "$APP2" wrong.pin k2.csr >wrong.json
for i in 1 2 3 4; do
  [ "$(call enroll.start wrong.json)" = 401 ] && [ "$(reason)" = application_pin_wrong ] ||
    fail "wrong PIN $i: $(cat out.json)"
  [ "$(jq .remaining out.json)" = $((5 - i)) ] || fail "remaining after $i: $(cat out.json)"
  jq -e '.message_ja | length > 0' out.json >/dev/null || fail "no message_ja: $(cat out.json)"
done
[ "$(call enroll.start wrong.json)" = 403 ] && [ "$(reason)" = application_pin_locked ] || fail "5th: $(cat out.json)"
body "$APP2" app2.pin k2.csr >right.json
[ "$(call enroll.start right.json)" = 403 ] && [ "$(reason)" = application_pin_locked ] || fail "locked, right PIN: $(cat out.json)"
# An unknown application number answers like a wrong PIN.
body 999999 wrong.pin k2.csr >unknown.json
[ "$(call enroll.start unknown.json)" = 401 ] && [ "$(reason)" = application_pin_wrong ] || fail "unknown: $(cat out.json)"
stop_served "$pid" server.err
start_server
[ "$(call enroll.start right.json)" = 403 ] && [ "$(reason)" = application_pin_locked ] ||
  fail "not locked after a restart: $(cat out.json)"
body "$APP2" app2.pin >status2.json
[ "$(call enroll.status status2.json)" = 403 ] || fail "status of a locked PIN: $(cat out.json)"
check "wrong application PIN x5 -> locked (also the right PIN), still locked after a restart; unknown number = wrong PIN"

# ---------------------------------------------------------------- 3. a third application: CSR and key refusals
# A new Form 5 for the bundle, through the RA again, with the CLI of the CA host.
export JITSUIN_SESSION_FILE="$work/cli.session"
"$JITSUIN" --home "$home" login --user suzuki --password-file suzuki.pw >/dev/null
jq '.name_kanji = "佐藤 三郎" | .name_romaji = "Saburo Sato" | .email = "saburo.sato@sakura.example.jp"' form5.json >form5b.json
jq --slurpfile f form5b.json 'del(.company) | .company_id = 1 | .contract_kind = "change" | .applicants = $f | .users = [] |
  .token_quantity = 1' bundle.json >bundle2.json
"$JITSUIN" --home "$home" ra bundle-create --file bundle2.json --json >created2.json
B2="$(jq .bundle created2.json)"; APP3="$(jq '.applications[0]' created2.json)"
for k in registration_current representative_seal; do
  "$JITSUIN" --home "$home" ra document-add --bundle "$B2" --kind "$k" --issued "$(days_ago '5 days')" >/dev/null
done
for k in residence_record personal_seal; do
  "$JITSUIN" --home "$home" ra document-add --bundle "$B2" --application "$APP3" --kind "$k" --issued "$(days_ago '5 days')" >/dev/null
done
"$JITSUIN" --home "$home" ra check --bundle "$B2" >/dev/null
"$JITSUIN" --home "$home" logout >/dev/null
"$JITSUIN" --home "$home" login --user takahashi --password-file takahashi.pw >/dev/null
"$JITSUIN" --home "$home" ra approve --application "$APP3" >/dev/null
"$JITSUIN" --home "$home" logout >/dev/null
"$JITSUIN" --home "$home" login --user suzuki --password-file suzuki.pw >/dev/null
"$JITSUIN" --home "$home" ra issue-pin --application "$APP3" --json | jq -r .pin >app3.pin
"$JITSUIN" --home "$home" ra mail-sent --application "$APP3" --tracking 1234-5678-9014 >/dev/null
"$JITSUIN" --home "$home" logout >/dev/null
grep -qE '^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$' app3.pin || fail "no PIN for application 3"

# A CSR whose self-signature does not verify (one byte of the signature changed).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k3.key -subj /CN=x -outform DER -out k3.der 2>/dev/null
$PY - k3.der <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-3] ^= 0x01; open(sys.argv[1], "wb").write(b)
PY
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; base64 -w64 k3.der; echo "-----END CERTIFICATE REQUEST-----"; } >bad.csr
body "$APP3" app3.pin bad.csr >bad.json
[ "$(call enroll.start bad.json)" = 400 ] && [ "$(reason)" = csr_invalid ] || fail "bad signature: $(cat out.json)"
# A key reported compromised: certified by the CA's direct path, then revoked for keyCompromise.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout kc.key -subj /CN=x -out kc.csr 2>/dev/null
echo '{"common_name": "Compromised", "email": "kc@example.jp"}' >kc-subject.json
"$JITSUIN" --home "$home" login --user admin --password-file admin.pw >/dev/null
"$JITSUIN" --home "$home" ca issue --profile smime --csr kc.csr --subject kc-subject.json --out kc.pem >/dev/null
kc_serial="$(openssl x509 -in kc.pem -noout -serial | cut -d= -f2)"
"$JITSUIN" --home "$home" ca revoke --serial "$kc_serial" --reason keyCompromise >/dev/null
"$JITSUIN" --home "$home" logout >/dev/null
body "$APP3" app3.pin kc.csr >kc.json
[ "$(call enroll.start kc.json)" = 400 ] && [ "$(reason)" = key_refused ] || fail "compromised key: $(cat out.json)"
# The applicant's own earlier key (application 1's certificate): certified before.
body "$APP3" app3.pin applicant.csr >reused.json
[ "$(call enroll.start reused.json)" = 400 ] && [ "$(reason)" = key_refused ] || fail "key certified before: $(cat out.json)"
body "$APP3" app3.pin >status3.json
[ "$(call enroll.status status3.json)" = 200 ] && [ "$(jq -r .state out.json)" = notice_mailed ] || fail "status 3: $(cat out.json)"
check "bad self-signature (csr_invalid), compromised and re-used keys (key_refused): nothing counted or changed"

# ---------------------------------------------------------------- 4. download PINs
before="$(download_pin_mails | wc -l)"
openssl req -new -newkey rsa:2048 -nodes -keyout k4.key -subj /CN=x -out k4.csr 2>/dev/null
body "$APP3" app3.pin k4.csr >start3.json
[ "$(call enroll.start start3.json)" = 200 ] || fail "start 3: $(cat out.json)"
[ "$(jq -r .mailed_to out.json)" = "s***@sakura.example.jp" ] || fail "mailed_to: $(cat out.json)"
wait_download_pins $((before + 1))
download_pin_mails "$APP3" >first.pin
[ "$(wc -l <first.pin)" = 1 ] || fail "application $APP3 has $(wc -l <first.pin) download PIN mails, not 1"
printf 'BBBB-BBBB-BBBB-BBBB\n' >wrongd.pin
dbody "$APP3" wrongd.pin >wrongd.json
[ "$(call enroll.collect wrongd.json)" = 401 ] && [ "$(reason)" = download_pin_wrong ] && [ "$(jq .remaining out.json)" = 4 ] ||
  fail "wrong download PIN: $(cat out.json)"
# Expired: the server's clock set past enroll.download_pin_minutes (JITSUIN_TEST_NOW).
minutes="$(jq .enroll.download_pin_minutes "$JITSUIN_CONFIG")"
later="$(date -u -d "+$((minutes + 5)) minutes" +%Y-%m-%dT%H:%M:%SZ)"
stop_served "$pid" server.err
start_server JITSUIN_TEST_NOW="$later"
dbody "$APP3" first.pin >first.json
[ "$(call enroll.collect first.json)" = 403 ] && [ "$(reason)" = download_pin_expired ] || fail "expired: $(cat out.json)"
# The RA re-issues (an approver); the old PIN is dead, the new one is mailed.
TAKAHASHI="$(ra_login takahashi)"
jq -n --argjson id "$APP3" '{id: $id}' >reissue.json
curl -sS --fail-with-body --cacert "$CACERT" -H "Authorization: Bearer $TAKAHASHI" --json @reissue.json \
  "$API/ra.download_pin.reissue" >/dev/null || fail "re-issue"
# The new mail is due at the test clock's "now": jitsuind's outbox worker, woken by the call and on
# the same clock (JITSUIN_TEST_NOW), delivers it; no `outbox deliver` run.
wait_download_pins $((before + 2))
download_pin_mails "$APP3" | grep -vxF -f first.pin >second.pin || fail "no second download PIN for $APP3"
cmp -s first.pin second.pin && fail "the re-issued PIN is the old one"
[ "$(call enroll.collect first.json)" = 401 ] && [ "$(reason)" = download_pin_wrong ] || fail "old PIN after re-issue: $(cat out.json)"
# Two collects racing with the new PIN: one certificate, the same for both.
dbody "$APP3" second.pin >second.json
certs_before="$(sqlite3 "$home/jitsuin.db" 'SELECT count(*) FROM certificates')"
curl -sS --cacert "$CACERT" -o race1.json --json @second.json "$API/enroll.collect" &
r1=$!
curl -sS --cacert "$CACERT" -o race2.json --json @second.json "$API/enroll.collect" &
r2=$!
wait "$r1" "$r2"
s1="$(jq -r .serial race1.json)"; s2="$(jq -r .serial race2.json)"
[ -n "$s1" ] && [ "$s1" != null ] && [ "$s1" = "$s2" ] || fail "racing collects: $(cat race1.json) $(cat race2.json)"
[ "$(sqlite3 "$home/jitsuin.db" 'SELECT count(*) FROM certificates')" = $((certs_before + 1)) ] || fail "more than one certificate"
[ "$(call enroll.collect second.json)" = 200 ] && [ "$(jq -r .serial out.json)" = "$s1" ] || fail "again: $(cat out.json)"
jq -r .certificate out.json >app3.pem; jq -r '.chain[0]' out.json >chain3.pem
# Issued at the server's (future) test clock: verified at that time.
openssl verify -attime "$(date -d "$later" +%s)" -CAfile "$CACERT" -untrusted chain3.pem app3.pem >/dev/null ||
  fail "openssl verify of application 3"
# Its "certificate issued" mail (due at the test clock's time, delivered by the worker as above).
for _ in $(seq 1 200); do
  mails | jq -e --arg s "$s1" 'select(.body | ascii_downcase | contains($s | ascii_downcase))' >/dev/null && break
  sleep 0.1
done
mails | jq -e --arg s "$s1" 'select(.body | ascii_downcase | contains($s | ascii_downcase))' >/dev/null ||
  fail "no certificate_issued mail naming $s1 (jitsuind's outbox worker on the test clock)"
check "download PIN: wrong (remaining 4), expired (test clock), old after re-issue; racing collects -> one certificate"

# The RA's view: each step, never a PIN.
jq -n --argjson id "$APP3" '{id: $id}' >show.json
curl -sS --fail-with-body --cacert "$CACERT" -H "Authorization: Bearer $TAKAHASHI" --json @show.json \
  "$API/ra.application.show" >show.out
[ "$(jq -c '[.history[].to]' show.out)" = '["received","checked","approved","pin_issued","notice_mailed","enrolled","issued"]' ] ||
  fail "history: $(jq -c '[.history[].to]' show.out)"
[ "$(jq -c '[.download_pins[].status]' show.out)" = '["replaced","used"]' ] || fail "download PINs: $(jq -c .download_pins show.out)"
for p in first.pin second.pin app3.pin; do
  ! grep -qF "$(tr -d '\n-' <"$p")" show.out || fail "a PIN in the RA view"
  ! grep -qF "$(tr -d '\n' <"$p")" show.out || fail "a PIN in the RA view"
  ! grep -qF "$(tr -d '\n' <"$p")" server.err || fail "a PIN in the server's log"
done
# The same in the CLI's text view.
"$JITSUIN" --home "$home" login --user suzuki --password-file suzuki.pw >/dev/null
"$JITSUIN" --home "$home" ra application-show --id "$APP3" >show.txt
grep -q '^download PIN replaced: ' show.txt && grep -q '^download PIN used: ' show.txt || fail "CLI view: $(cat show.txt)"
"$JITSUIN" --home "$home" logout >/dev/null
check "ra.application.show and ra application-show: history to issued, download PINs replaced/used, no PIN"
stop_served "$pid" server.err

# ---------------------------------------------------------------- 5. the audit chain
"$JITSUIN" --home "$home" audit verify >audit.out || fail "audit verify: $(cat audit.out)"
check "audit verify: $(head -n1 audit.out)"
echo "enroll_test: all passed"
