# Shared setup of the embedded-token survival tests (kill_loop.sh, concurrent.sh): one place for
# the home's setup and for the `ca issue` / `ca revoke` invocations, so that changes to how those
# commands are authorised are made here once.
#
# Source it after setting JITSUIN (the binary) and WORK (a private temp folder). Every function
# takes the home first. `EXEC=exec` before a call makes the function exec the binary, so that
# `( EXEC=exec; ca_issue ... ) & pid=$!` gives the jitsuin process's own pid (for kill -9).

# setup_ca HOME: the bootstrap administrator (`ra operator-add` needs no session for the very
# first account), its login session (JITSUIN_SESSION_FILE, exported for every later command), an
# embedded CA with P-256 keys, a CSR and a subject for ca_issue in WORK.
setup_ca() {
  local home="$1"
  printf 'correct horse battery staple 8\n' >"$WORK/admin.pw"
  chmod 600 "$WORK/admin.pw"
  export JITSUIN_SESSION_FILE="$WORK/admin.session"
  "$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --display-name 'Token Test Admin' \
    --password-file "$WORK/admin.pw" >/dev/null
  "$JITSUIN" --home "$home" login --user admin --password-file "$WORK/admin.pw" >/dev/null
  "$JITSUIN" --home "$home" ca init --root-key p256 --issuing-key p256 >/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ee.key" \
    -subj /CN=token-test -out "$WORK/ee.csr" 2>/dev/null
  printf '{"organization": "Token Test", "common_name": "Token Test TSA"}\n' >"$WORK/ee.json"
}

# ca_issue HOME OUT: issues a TSA certificate for WORK/ee.csr into OUT; prints "issued serial HEX ...".
ca_issue() {
  ${EXEC:-} "$JITSUIN" --home "$1" ca issue --profile tsa --csr "$WORK/ee.csr" --subject "$WORK/ee.json" --out "$2"
}

# ca_revoke HOME SERIAL: revokes a certificate (reason superseded, effective now).
ca_revoke() {
  ${EXEC:-} "$JITSUIN" --home "$1" ca revoke --serial "$2" --reason superseded
}

# crl_publish HOME: both CRLs.
crl_publish() {
  ${EXEC:-} "$JITSUIN" --home "$1" crl publish
}

# audit_count HOME ACTION: audit entries with this action (sqlite3 reads the file independently).
audit_count() {
  sqlite3 "$1/jitsuin.db" "SELECT count(*) FROM audit_log WHERE action = '$2'"
}
