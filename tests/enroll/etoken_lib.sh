# Sourced by the token agent's shell tests (token_enroll_test.sh, token_full_test.sh), after
# ops_lib.sh. etoken_softhsm DIR: a SoftHSM2 configuration of its own for an applicant's "eToken"
# (DIR/softhsm2.conf, tokens in DIR/tokens). etoken_init: the eToken "etoken" in etoken/, its
# configuration exported as SOFTHSM2_CONF, initialised with the agent (admin PIN etoken-admin-1234,
# user PIN etoken-user-5678). download_pin ADDRESS: the download PIN mailed to
# ADDRESS, from the maildir $etoken_maildir the SMTP sink writes (decoded by Python's email package).
# etoken_served_application: the SMTP sink and config (sink_config.sh), the CA and staff in
# $work/home ($home), application 1 (Taro Yamada, one token) approved with its application PIN in
# app1.pin and the notice delivered, a CRL, and jitsuind serving ($HTTPS_URL, $ROOT_PEM); `ra WHO ...`
# runs the RA CLI as suzuki or takahashi. etoken_cert_verifies MODULE TOKEN KEY-ID: the certificate
# with the key's ID, read off the token with pkcs11-tool into cert.pem, passes `openssl verify` with
# the CA certificates from jitsuind's plain-HTTP publication point and is Taro Yamada's.
etoken_softhsm() {
  mkdir -p "$1/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/$1/tokens" >"$1/softhsm2.conf"
}
etoken_init() {
  etoken_softhsm etoken
  export SOFTHSM2_CONF="$work/etoken/softhsm2.conf"
  "$JITSUIN" token init --label etoken --pin-fd 3 3< <(printf '%s\n' etoken-admin-1234 etoken-user-5678) >init.out 2>&1 ||
    fail "token init: $(cat init.out)"
}
download_pin() {
  local f=""
  for _ in $(seq 1 300); do
    f="$(grep -l "^X-Jitsuin-Template: download_pin" $(grep -rl "^X-RcptTo: .*$1" "$etoken_maildir/new" 2>/dev/null) /dev/null 2>/dev/null |
         head -n1 || true)"
    [ -n "$f" ] && break
    sleep 0.1
  done
  [ -n "$f" ] || { echo "no download PIN mail for $1" >&2; return 1; }
  $PY "$SOURCE_DIR/tests/ra/decode_mail.py" "$f" | jq -r .body | grep -m1 -oP '(Download PIN|ダウンロードPIN): \K\S+'
}
etoken_served_application() {
  etoken_maildir="$work/maildir"
  source "$SOURCE_DIR/tests/enroll/sink_config.sh"
  sink_ra_home
  ra() { JITSUIN_SESSION_FILE="$work/$1.session" "$JITSUIN" --home "$home" ra "${@:2}"; }
  local who
  for who in suzuki takahashi; do
    JITSUIN_SESSION_FILE="$work/$who.session" "$JITSUIN" --home "$home" login --user "$who" --password-file "$who.pw" >/dev/null
  done
  jq ".token_quantity = 1" bundle.json >bundle1.json
  ra suzuki bundle-create --file bundle1.json >/dev/null
  ra suzuki document-add --bundle 1 --kind registration_current --issued "$(days_ago '10 days')" >/dev/null
  ra suzuki document-add --bundle 1 --kind representative_seal --issued "$(days_ago '10 days')" >/dev/null
  ra suzuki document-add --bundle 1 --application 1 --kind residence_record --issued "$(days_ago '20 days')" >/dev/null
  ra suzuki document-add --bundle 1 --application 1 --kind personal_seal --issued "$(days_ago '20 days')" >/dev/null
  ra suzuki check --bundle 1 >check.out 2>&1 || fail "check: $(cat check.out)"
  ra takahashi approve --bundle 1 >/dev/null || fail "approve after: $(cat check.out)"
  ra suzuki issue-pin --application 1 --no-letter --json | jq -r .pin >app1.pin
  ra suzuki mail-sent --application 1 --tracking 1234-5678-9001 >/dev/null
  ra suzuki mail-event --tracking 1234-5678-9001 --event delivered >/dev/null
  "$JITSUIN" --home "$home" crl publish >/dev/null
  start_jitsuind "$home" server
  pids[server]=$JITSUIND_PID
}
etoken_cert_verifies() {
  pkcs11-tool --module "$1" --token-label "$2" --read-object --type cert --id "$3" -o cert.der >/dev/null 2>&1 ||
    fail "no certificate with the key's ID $3 on token '$2'"
  openssl x509 -inform der -in cert.der -out cert.pem
  local ca
  for ca in issuing root; do
    curl -sS --fail "$HTTP_URL/ca/$ca.crt" -o "$ca.der" || fail "GET /ca/$ca.crt"
    openssl x509 -inform der -in "$ca.der" -out "$ca.pem"
  done
  openssl verify -CAfile root.pem -untrusted issuing.pem cert.pem >verify.out 2>&1 || fail "openssl verify: $(cat verify.out)"
  openssl x509 -in cert.pem -noout -subject | grep -q "Taro Yamada" || fail "not Yamada's certificate"
}
