#!/usr/bin/env bash
# Issue 20: what jitsuind serves of the CA, checked with curl, openssl and the API.
#  - item 18: /ca/root.crt and /ca/issuing.crt (every certificate's AIA names them) answer 200 right
#    after `jitsuin ca init`, before any `crl publish`;
#  - item 11: the CRL partitions (/crl/issuing-<n>.crl) are served as published, and a certificate's
#    revocation is found by `openssl verify -crl_check` in the partition CRL its CDP names;
#  - item 15: ca.issue with an idempotency key, retried (API and CLI): one certificate, the first
#    answer again; the same key with another request: 409, nothing issued.
# Usage: ca_published_test.sh JITSUIN JITSUIND SOURCE_DIR
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-ca-published.XXXXXX")"
source "$here/jitsuind_start.sh"
trap 'kill_jitsuind; rm -rf "$work"' EXIT
cd "$work"
fail() {
  echo "ca_published_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }
home="$work/home"
mkdir -p "$home"
# Partitions of 2 certificates: the first certificates land in partitions 1 and 2.
test_config "$home/jitsuin.json" ca.crl='{"publish_dir": "crl", "validity_hours": 48,
  "distribution_point": "http://localhost:8080/crl/issuing.crl",
  "root_distribution_point": "http://localhost:8080/crl/root.crl", "partition_size": 2}'

# --- item 18: the CA certificates, right after ca init
"$JITSUIN" --home "$home" ca init --root-key p256 >init.txt || fail "ca init: $(cat init.txt)"
grep -q "CA certificates published to $home/crl" init.txt || fail "ca init does not say where: $(cat init.txt)"
[ ! -e "$home/crl/issuing.crl" ] || fail "ca init published a CRL: nothing asked for one"
start_jitsuind "$home" server
for role in root issuing; do
  code="$(curl -sS -o "$role.crt" -w '%{http_code}' "$HTTP_URL/ca/$role.crt")"
  [ "$code" = 200 ] || fail "GET /ca/$role.crt right after ca init: $code $(cat "$role.crt")"
  cmp -s "$role.crt" "$home/crl/$role.crt" || fail "/ca/$role.crt is not the published file"
  openssl x509 -inform DER -in "$role.crt" -noout -subject >"$role.subject" || fail "/ca/$role.crt is not a certificate"
done
grep -q "Jitsuin Root CA" root.subject || fail "root.crt: $(cat root.subject)"
grep -q "Jitsuin Issuing CA 1" issuing.subject || fail "issuing.crt: $(cat issuing.subject)"
openssl x509 -inform DER -in root.crt -out root.pem
openssl x509 -inform DER -in issuing.crt -out issuing.pem
openssl verify -CAfile root.pem issuing.pem >/dev/null || fail "issuing.crt does not chain to root.crt"
check "GET /ca/root.crt and /ca/issuing.crt: 200 right after ca init, the CA's certificates"

# --- item 15: ca.issue with an idempotency key, over the API
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
token="$(curl -sS --cacert "$ROOT_PEM" -H 'Content-Type: application/json' \
  --data-binary '{"user": "admin", "password": "passphrase of admin, long enough"}' "$HTTPS_URL/api/v1/session.login" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
api() {   # api NAME BODY OUT -> prints the status, the body in OUT
  curl -sS --cacert "$ROOT_PEM" -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" --data-binary "$2" "$HTTPS_URL/api/v1/$1"
}
request() {   # request CSR KEY [DAYS] -> ca.issue's JSON body
  /usr/bin/python3 -c 'import json, sys
r = {"profile": "individual-signing", "csr": open(sys.argv[1]).read(), "idempotency_key": sys.argv[2],
     "subject": {"organization": "Sakura Kensetsu", "common_name": "Ken Sato"}}
if len(sys.argv) > 3: r["days"] = int(sys.argv[3])
print(json.dumps(r))' "$@"
}
issued() { sqlite3 "$home/jitsuin.db" "SELECT count(*) FROM certificates"; }
audited() { sqlite3 "$home/jitsuin.db" "SELECT count(*) FROM audit_log WHERE action = 'cert.issue'"; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key -subj "/CN=x" -out a.csr 2>/dev/null
request a.csr key-a >a.json
[ "$(api ca.issue @a.json first.json)" = 200 ] || fail "ca.issue: $(cat first.json)"
before_certs="$(issued)" before_audit="$(audited)"
for i in 1 2 3; do   # retries after a timeout
  [ "$(api ca.issue @a.json again.json)" = 200 ] || fail "ca.issue retried: $(cat again.json)"
  cmp -s first.json again.json || fail "the retry's answer differs from the first: $(cat again.json)"
done
[ "$(issued)" = "$before_certs" ] && [ "$(audited)" = "$before_audit" ] ||
  fail "a retry with the same idempotency key issued again ($(issued) certificates, $(audited) cert.issue entries)"
request a.csr key-a 30 >a30.json
[ "$(api ca.issue @a30.json other.json)" = 409 ] || fail "the same key with another request: $(cat other.json)"
grep -q "different request" other.json || fail "409 without saying why: $(cat other.json)"
[ "$(issued)" = "$before_certs" ] || fail "a refused request issued a certificate"
check "ca.issue with an idempotency key: the first answer on each retry, 409 for another request, one certificate"

# ... and on the command line (the CLI's own session)
"$JITSUIN" --home "$home" login --user admin --password-file admin.pw >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout b.key -subj "/CN=x" -out b.csr 2>/dev/null
printf '%s' '{"organization": "Sakura Kensetsu", "common_name": "Aiko Sato"}' >b-subject.json
cli_issue() {   # cli_issue OUT [ARGS...]
  local out="$1"
  shift
  "$JITSUIN" --home "$home" ca issue --profile individual-signing --csr b.csr --subject b-subject.json --out "$out" "$@"
}
cli_issue b1.pem --idempotency-key key-b >b1.txt || fail "ca issue: $(cat b1.txt)"
before_certs="$(issued)"
cli_issue b2.pem --idempotency-key key-b >b2.txt || fail "ca issue retried: $(cat b2.txt)"
cmp -s b1.pem b2.pem || fail "ca issue retried wrote another certificate"
[ "$(issued)" = "$before_certs" ] || fail "ca issue retried with the key issued again"
if cli_issue b3.pem --idempotency-key key-b --days 30 >b3.txt 2>&1; then fail "the same key with --days 30 issued"; fi
grep -q "different request" b3.txt || fail "ca issue with a reused key: $(cat b3.txt)"
check "jitsuin ca issue --idempotency-key: the first certificate again, another request refused"

# --- item 11: partition CRLs served, each certificate's revocation in the CRL its CDP names
serial_a="$(/usr/bin/python3 -c 'import json; print(json.load(open("first.json"))["serial"])')"
/usr/bin/python3 -c 'import json; d = json.load(open("first.json")); open("a.pem", "w").write(d["certificate"])'
cdp="$(openssl x509 -in a.pem -noout -ext crlDistributionPoints | sed -n 's/.*URI://p')"
[[ "$cdp" =~ ^http://localhost:8080/crl/issuing-([0-9]+)\.crl$ ]] || fail "certificate's CDP: $cdp"
part="${BASH_REMATCH[1]}"
"$JITSUIN" --home "$home" ca revoke --serial "$serial_a" --reason keyCompromise >/dev/null
"$JITSUIN" --home "$home" crl publish >publish.txt || fail "crl publish: $(cat publish.txt)"
grep -q "partition CRLs" publish.txt || fail "crl publish says nothing of partitions: $(cat publish.txt)"
code="$(curl -sS -o part.crl -w '%{http_code}' "$HTTP_URL/crl/issuing-$part.crl")"
[ "$code" = 200 ] || fail "GET /crl/issuing-$part.crl: $code"
cmp -s part.crl "$home/crl/issuing-$part.crl" || fail "/crl/issuing-$part.crl is not the published file"
openssl crl -inform DER -in part.crl -noout -text >part.txt
grep -q "Issuing Distribution Point: critical" part.txt || fail "no critical IDP: $(cat part.txt)"
grep -q "URI:$cdp" part.txt || fail "the IDP is not the certificate's CDP $cdp: $(cat part.txt)"
curl -sS -o root.crl "$HTTP_URL/crl/root.crl"
openssl crl -inform DER -in part.crl -out part.pem
openssl crl -inform DER -in root.crl -out root-crl.pem
if openssl verify -crl_check_all -CAfile root.pem -untrusted issuing.pem -CRLfile part.pem -CRLfile root-crl.pem \
  a.pem >verify.txt 2>&1; then fail "openssl verify accepted a revoked certificate"; fi
grep -q "certificate revoked" verify.txt || fail "openssl verify: $(cat verify.txt)"
for path in /crl/issuing-99.crl /crl/issuing-0.crl /crl/issuing-01.crl /crl/issuing-x.crl; do   # partition 0 is /crl/issuing.crl
  code="$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP_URL$path")"
  [ "$code" = 404 ] || fail "GET $path (not published): $code"
done
check "GET /crl/issuing-$part.crl: the partition CRL (critical IDP = the CDP), the revocation found by openssl verify"
stop_jitsuind
echo "ca_published_test: all passed"
