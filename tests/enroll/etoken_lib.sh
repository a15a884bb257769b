# Sourced by the token agent's shell tests (token_enroll_test.sh, token_full_test.sh), after
# ops_lib.sh. etoken_softhsm DIR: a SoftHSM2 configuration of its own for an applicant's "eToken"
# (DIR/softhsm2.conf, tokens in DIR/tokens). etoken_init: the eToken "etoken" in etoken/, its
# configuration exported as SOFTHSM2_CONF, initialised with the agent (admin PIN etoken-admin-1234,
# user PIN etoken-user-5678). download_pin ADDRESS: the download PIN mailed to
# ADDRESS, from the maildir $etoken_maildir the SMTP sink writes (decoded by Python's email package).
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
