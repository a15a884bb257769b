#!/usr/bin/env bash
# Issue 10 (smime), seed 004, run for real (CTest jitsuind_smime): the built jitsuin and jitsuind on
# a fresh home (embedded SoftHSM2 CA token, SQLite file), a real SMTP sink (tests/ra/smtp_sink.py,
# aiosmtpd) as every mailbox, curl and openssl as the coupon holder.
#  1. README "### S/MIME coupons (seed 004)" run verbatim, block by block: an operator's order with
#     the CLI → the coupon mail to the buyer → smime.apply → the application PIN mail held for
#     enroll.smime_pin_delay_minutes (not in the sink before; delivered by `outbox deliver` at the
#     test clock's +16 minutes) → enroll.start / enroll.collect → `openssl verify`, the SAN is that
#     one address (openssl x509) → smime.reissue for another address → the old certificate is
#     revoked (superseded) by OCSP (`openssl ocsp`).
#  2. Bad input over HTTP, each changing nothing: the used coupon, a second address, a malformed
#     address and code, an unknown coupon; wrong codes → locked (403) also for the right code.
#  3. The operator's view (CLI), no coupon or PIN in the server's log, `jitsuin audit verify`.
# Usage: tests/enroll/smime_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR   (KEEP=1 keeps the temp folder)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/ops_lib.sh" jitsuind_smime "$@"
unset JITSUIN_TEST_NOW
show_on_failure=(server.err sink.err)
# The SMTP sink, the config, the CA and the RA's staff in $work/home (sink_config.sh).
source "$here/sink_config.sh"
sink_ra_home
"$JITSUIND" --home "$home" >server.out 2>server.err &
pid=$!
pids[server]=$pid
jitsuind_ports "$(wait_served "$pid" server.out)"
API="$HTTPS_URL/api/v1"
CACERT="$home/server/root.pem"
OCSP_URL="$HTTP_URL/ocsp"
export API CACERT OCSP_URL

# ---------------------------------------------------------------- 1. the README, block by block
block() {   # block N: the Nth code block of README's "### S/MIME coupons (seed 004)"
  $PY - "$SOURCE_DIR/README.md" "$1" <<'PY'
import re, sys
readme = open(sys.argv[1], encoding="utf-8").read()
start = readme.find("### S/MIME coupons (seed 004)\n")
if start < 0:
    sys.exit("README.md has no section S/MIME coupons")
ends = [i for i in (readme.find("\n## ", start + 1), readme.find("\n### ", start + 1)) if i >= 0]
blocks = re.findall(r"^```\n(.*?)^```", readme[start:min(ends) if ends else len(readme)], re.S | re.M)
print(blocks[int(sys.argv[2])])
PY
}
[ "$(block 4 | wc -l)" -gt 0 ] || fail "README's S/MIME section has fewer than 5 blocks"
# The blocks run in one shell (the functions of one are used by the next), with the test's steps
# between them: `jitsuin` is the built CLI on the test's home, the clock moved for the held mail.
jitsuin() { "$JITSUIN" --home "$home" "$@"; }
export -f jitsuin
export home JITSUIN
mails() { for f in "$work"/maildir/new/*; do $PY "$SOURCE_DIR/tests/ra/decode_mail.py" "$f"; done; }
wait_mail() {   # wait_mail SUBJECT-TEXT N: N mails whose subject contains the text (within 20 s)
  for _ in $(seq 1 200); do
    [ "$(mails | jq -r --arg s "$1" 'select(.subject | contains($s)) | .subject' | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "fewer than $2 mails with '$1' in the subject"
}
run_readme() {   # run_readme N: runs readmeN.sh (README blocks and the functions they use) in bash -v
  MAILDIR="$work/maildir" SRC="$SOURCE_DIR" bash -v "readme$1.sh" >"day$1.out" 2>"day$1.err" ||
    { cat "day$1.err" "day$1.out" >&2; mails >&2; fail "README blocks of readme$1.sh"; }
  cat "day$1.out"
}
deliver_later() {   # the held mails, delivered as cron would 16 minutes from now (test clock)
  JITSUIN_TEST_NOW="$(date -u -d '+16 minutes' +%Y-%m-%dT%H:%M:%SZ)" "$JITSUIN" --home "$home" outbox deliver >/dev/null
}

{
  echo "set -euo pipefail"
  block 0
  echo 'echo "== block 0 done"'
} >readme0.sh
run_readme 0
wait_mail "クーポン" 1
order="$(jq .order.id order.json)"
[ "$(jq -r '.codes | length' order.json)" = 2 ] || fail "order: $(cat order.json)"
mails | jq -e 'select(.subject | contains("クーポン")) | select(.to | contains("buyer@sakura.example.jp"))' >/dev/null ||
  fail "the coupons did not go to the delivery address: $(mails | jq -c '{to, subject}')"
for c in $(jq -r '.codes[]' order.json); do
  mails | jq -r 'select(.subject | contains("クーポン")) | .body' | grep -qF -- "$c" || fail "coupon $c not in the mail"
  ! sqlite3 "$home/jitsuin.db" .dump | grep -qF -- "${c#*-}" || fail "coupon $c in the database in clear"
done
check "README: the order with the CLI, its 2 coupons mailed to the buyer (hashes only in the database)"

# Block 1 (apply) with block 0's functions; then the PIN mail is held.
{
  echo "set -euo pipefail"
  block 1
} >readme1.sh
run_readme 1
APP="$(jq .application_id applied.json)"
[ "$(jq -r .mailed_to applied.json)" = "h***@example.jp" ] || fail "apply: $(cat applied.json)"
nb="$(date -d "$(jq -r .mail_not_before applied.json)" +%s)"
[ $((nb - $(date +%s))) -gt $((14 * 60)) ] || fail "the PIN mail is not held ~15 minutes: $(cat applied.json)"
sleep 1
[ "$(mails | jq -r 'select(.subject | contains("申請PIN")) | .subject' | wc -l)" = 0 ] || fail "the application PIN mail left at once"
"$JITSUIN" --home "$home" outbox deliver >/dev/null
[ "$(mails | jq -r 'select(.subject | contains("申請PIN")) | .subject' | wc -l)" = 0 ] || fail "the application PIN mail left before its time"
deliver_later
wait_mail "申請PIN" 1
mails | jq -e 'select(.subject | contains("申請PIN")) | select(.to | contains("hanako@example.jp"))' >/dev/null ||
  fail "the application PIN did not go to the address applied for"
check "smime.apply: the application PIN mail held ~15 minutes, then to hanako@example.jp"

# Blocks 2-4: enroll and collect, the SAN; the re-issue and OCSP. One shell (smime_collect, mail_bodies).
{
  echo "set -euo pipefail"
  block 1 | sed -n '/^mail_bodies()/,/^}/p'
  block 2
  echo 'cp hanako.pem hanako.first.pem'
  block 3
  echo 'echo "== re-issued"'
} >readme2.sh
run_readme 2
grep -qx 'hanako.pem: OK' day2.out || fail "openssl verify: $(cat day2.out)"
san="$(openssl x509 -in hanako.pem -noout -ext subjectAltName | tail -n +2 | tr -d ' ')"
[ "$san" = "email:hanako@example.jp" ] || fail "SAN: '$san'"
openssl x509 -in hanako.pem -noout -subject | grep -q 'Hanako Suzuki' || fail "subject: $(openssl x509 -in hanako.pem -noout -subject)"
check "enroll.start/collect: openssl verify OK, SAN exactly email:hanako@example.jp"
[ "$(jq -r .replaces_serial reissued.json)" = "$(jq -r .serial hanako.json)" ] && [ "$(jq .reissue_of reissued.json)" = "$APP" ] ||
  fail "reissue: $(cat reissued.json)"
# Before the new certificate: the old one is still good.
openssl ocsp -issuer issuing.pem -cert hanako.pem -url "$OCSP_URL" -CAfile root.pem >ocsp0.out 2>&1 || true
grep -q 'hanako.pem: good' ocsp0.out || fail "before the re-issue's certificate: $(cat ocsp0.out)"
deliver_later
wait_mail "申請PIN" 2
{
  echo "set -euo pipefail"
  block 1 | sed -n '/^mail_bodies()/,/^}/p'
  block 2 | sed -n '/^smime_collect()/,/^}/p'
  block 4
} >readme3.sh
run_readme 3
san2="$(openssl x509 -in hanako2.pem -noout -ext subjectAltName | tail -n +2 | tr -d ' ')"
[ "$san2" = "email:hanako.suzuki@example.jp" ] || fail "SAN after re-issue: '$san2'"
openssl verify -CAfile root.pem -untrusted issuing.pem hanako2.pem >/dev/null || fail "openssl verify hanako2.pem"
grep -q 'hanako.pem: revoked' day3.out || fail "OCSP after the re-issue: $(cat day3.out)"
grep -q 'Reason: superseded' day3.out || fail "OCSP reason: $(cat day3.out)"
openssl ocsp -issuer issuing.pem -cert hanako2.pem -url "$OCSP_URL" -CAfile root.pem 2>&1 | grep -q 'hanako2.pem: good' ||
  fail "the new certificate is not good"
check "smime.reissue: new certificate for the new address; the old one revoked (superseded) by openssl ocsp"

# ---------------------------------------------------------------- 1b. a holder with a token (the agent)
# A coupon holder enrolls onto a SoftHSM2 "eToken" with `jitsuin token enroll`: the smime profile's
# first algorithm, RSA-2048, and a key that may decrypt (the certificate has keyEncipherment), so
# mail encrypted to the certificate can be read: openssl encrypts a content key to the certificate's
# public key as S/MIME key transport does, pkcs11-tool decrypts it on the token.
jitsuin ra smime-order --ordered-by "Sato Shoji" --delivery-email buyer2@example.jp --quantity 1 --json >order2.json
jq -n --arg c "$(jq -r '.codes[0]' order2.json)" '{coupon: $c, name_romaji: "Jiro Sato", email: "jiro@example.jp"}' |
  curl -sS --fail-with-body --cacert "$CACERT" --json @- "$API/smime.apply" >applied2.json || fail "apply: $(cat applied2.json)"
APP2="$(jq .application_id applied2.json)"
deliver_later
for _ in $(seq 1 100); do
  mails | jq -r --arg s "申請番号 $APP2）" 'select(.subject | contains($s)) | .body' | grep '^申請PIN: ' |
    grep -oE '[0-9A-Z]{4}(-[0-9A-Z]{4}){3}' | tail -n1 >jiro.pin || true
  [ -s jiro.pin ] && break
  sleep 0.2
done
[ -s jiro.pin ] || fail "no application PIN mail for application $APP2"
source "$here/etoken_lib.sh"
etoken_softhsm etoken
etoken_maildir="$work/maildir"
agent() { SOFTHSM2_CONF="$work/etoken/softhsm2.conf" "$JITSUIN" token "$@"; }
p11() { SOFTHSM2_CONF="$work/etoken/softhsm2.conf" pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label etoken \
  --login --pin etoken-user-5678 "$@"; }
agent init --label etoken --pin-fd 3 3< <(printf '%s\n' etoken-admin-1234 etoken-user-5678) >init.out 2>&1 || fail "token init: $(cat init.out)"
agent enroll --server "$HTTPS_URL" --application "$APP2" --ca "$CACERT" --pin-fd 3 \
  3< <(printf '%s\n' "$(cat jiro.pin)" etoken-user-5678; download_pin jiro@example.jp) >agent.out 2>&1 || fail "token enroll: $(cat agent.out)"
cat agent.out
grep -q "generated RSA-2048 key on the token (id [0-9a-f]*), for signing and decrypting" agent.out || fail "the key: $(cat agent.out)"
key_id="$(grep -oP "with the key's id \K[0-9a-f]+" agent.out)"
p11 --read-object --type cert --id "$key_id" -o jiro.der >/dev/null 2>&1 || fail "no certificate with the key's ID"
openssl x509 -inform der -in jiro.der -out jiro.pem
openssl verify -purpose smimeencrypt -CAfile root.pem -untrusted issuing.pem jiro.pem >/dev/null || fail "openssl verify smimeencrypt"
[ "$(openssl x509 -in jiro.pem -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" = "email:jiro@example.jp" ] || fail "SAN of jiro.pem"
openssl x509 -in jiro.pem -noout -pubkey >jiro.pub
printf 'the content key' | openssl pkeyutl -encrypt -pubin -inkey jiro.pub -pkeyopt rsa_padding_mode:pkcs1 -out key.enc
p11 --decrypt -m RSA-PKCS --id "$key_id" --input-file key.enc --output-file key.dec >/dev/null 2>&1 || fail "pkcs11-tool --decrypt"
[ "$(cat key.dec)" = "the content key" ] || fail "decrypted on the token: '$(cat key.dec)'"
check "token enroll of a coupon application: RSA-2048 key that decrypts, smimeencrypt certificate, a content key decrypted on the token"

# ---------------------------------------------------------------- 2. bad input over HTTP
call() {   # call NAME JSON: the answer in out.json, the HTTP status printed
  curl -sS --cacert "$CACERT" -o out.json -w '%{http_code}' --json "$2" "$API/$1"
}
reason() { jq -r .reason out.json; }
snapshot() { sqlite3 "$home/jitsuin.db" "SELECT (SELECT count(*) FROM ra_applications), (SELECT count(*) FROM outbox),
  (SELECT count(*) FROM smime_applications), (SELECT group_concat(failures) FROM smime_coupons)"; }
used="$(tr -d '\n' <coupon.txt)"
fresh="$(jq -r '.codes[] | select(. != "'"$used"'")' order.json)"
form() { jq -n --arg c "$1" --arg e "$2" '{coupon: $c, name_romaji: "Taro Yamada", email: $e}'; }
before="$(snapshot)"
[ "$(call smime.apply "$(form "$used" taro@example.jp)")" = 409 ] && [ "$(reason)" = coupon_used ] || fail "used coupon: $(cat out.json)"
[ "$(call smime.apply "$(form "$fresh" 'taro@example.jp, yamada@example.jp')")" = 400 ] && [ "$(reason)" = one_address ] ||
  fail "two addresses: $(cat out.json)"
[ "$(call smime.apply "$(form "$fresh" 'taro.example.jp')")" = 400 ] && [ "$(reason)" = email_invalid ] ||
  fail "malformed address: $(cat out.json)"
[ "$(call smime.apply "$(form "not-a-coupon" taro@example.jp)")" = 400 ] && [ "$(reason)" = coupon_malformed ] ||
  fail "malformed coupon: $(cat out.json)"
[ "$(call smime.reissue "$(form "$fresh" taro@example.jp)")" = 409 ] && [ "$(reason)" = coupon_unused ] ||
  fail "re-issue of an unused coupon: $(cat out.json)"
[ "$(call smime.apply "$(jq -n '{coupon: "1-AAAA", email: "x@example.jp"}')")" = 400 ] || fail "no name: $(cat out.json)"
[ "$(snapshot)" = "$before" ] || fail "a refused request changed something: $before -> $(snapshot)"
# Wrong codes for the fresh coupon count, then lock it, also for the right code.
wrong="${fresh%%-*}-AAAA-AAAA-AAAA-AAAA"
max="$(jq .ra.pin_max_attempts "$JITSUIN_CONFIG")"
for i in $(seq 1 $((max - 1))); do
  [ "$(call smime.apply "$(form "$wrong" taro@example.jp)")" = 401 ] && [ "$(reason)" = coupon_wrong ] &&
    [ "$(jq .remaining out.json)" = $((max - i)) ] || fail "wrong code $i: $(cat out.json)"
done
[ "$(call smime.apply "$(form "$wrong" taro@example.jp)")" = 403 ] && [ "$(reason)" = coupon_locked ] || fail "lock: $(cat out.json)"
[ "$(call smime.apply "$(form "$fresh" taro@example.jp)")" = 403 ] && [ "$(reason)" = coupon_locked ] ||
  fail "the right code after the lock: $(cat out.json)"
[ "$(call smime.apply "$(form "999999-AAAA-AAAA-AAAA-AAAA" taro@example.jp)")" = 401 ] && [ "$(reason)" = coupon_wrong ] ||
  fail "unknown coupon: $(cat out.json)"
check "bad input: used 409, two addresses / bad address / bad code 400 (nothing changed), wrong x$((max - 1)) then locked 403"

# ---------------------------------------------------------------- 3. the operator's view, logs, audit
jitsuin ra smime-order-show --id "$order" >show.txt
grep -q "coupon [0-9]*: used, applications \[$APP,$(jq .application_id reissued.json)\]" show.txt &&
  grep -q "coupon [0-9]*: locked" show.txt || fail "smime-order-show: $(cat show.txt)"
for c in $(jq -r '.codes[]' order.json); do
  ! grep -qF -- "${c#*-}" show.txt server.err server.out || fail "a coupon in the operator's view or the server's log"
done
for p in hanako.pin hanako.dl hanako2.pin hanako2.dl; do
  ! grep -qF -- "$(tr -d '\n' <"$p")" server.err server.out || fail "a PIN in the server's log"
done
jitsuin logout >/dev/null
stop_served "$pid" server.err
"$JITSUIN" --home "$home" audit verify >audit.out || fail "audit verify: $(cat audit.out)"
check "smime-order-show: used with its 2 applications, the other locked; no secrets in logs; $(head -n1 audit.out)"
echo "smime_test: all passed"
