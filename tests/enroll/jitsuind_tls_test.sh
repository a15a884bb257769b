#!/usr/bin/env bash
# jitsuind's TLS identity: the key on the CA's token, renewal while running, and the protocol
# versions and chain as independent clients see them (what jitsuind_test.sh does not check already).
# The built binaries on a fresh temp home (embedded SoftHSM2 token, SQLite file), port 0.
#
# Renewal: the CA is made 61 days ago and a first jitsuind run (JITSUIN_TEST_NOW) issues its
# 90-day certificate so that a third of it is left $margin seconds from now. A second run, on the
# real clock, starts with that certificate and renews while running: a new connection then gets
# a new serial (a new key on the token), and a connection opened before keeps working.
# Usage: tests/enroll/jitsuind_tls_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: jitsuind_tls)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" jitsuind_tls_test "$@"
margin=75
now="$(date +%s)"

JITSUIN_TEST_NOW=$((now - 61 * 86400)) "$JITSUIN" --home "$home" ca init >/dev/null
server_config timeout_seconds=600 >tls.json   # a keep-alive connection stays open across the renewal
served_serial() {   # the serial of the certificate a new connection gets (lower-case hex)
  openssl s_client -connect "127.0.0.1:$tls_port" </dev/null 2>/dev/null | openssl x509 -noout -serial |
    cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'
}

# ---------------------------------------------------------------- the key on the token
start tls.json JITSUIN_TEST_NOW=$((now - 60 * 86400 + margin))
grep -q "issued now" server.err || fail "first start did not issue a certificate"
old="$(served_serial)"
[ -n "$old" ] || fail "no certificate served"
stop
[ ! -e "$home/server/tls.key" ] || fail "a key file HOME/server/tls.key exists: the key must be on the token"
uri="$(cat "$home/server/tls-key.uri")"
[[ "$uri" == pkcs11:*object=jitsuind-tls* ]] || fail "key reference: $uri"
check "first start: certificate $old, key on the token ($uri)"

# ---------------------------------------------------------------- renewal while running
start tls.json
grep -q "serial 0*$old)" server.err || fail "second start did not keep the certificate: $(cat server.err)"
[ "$(served_serial)" = "$old" ] ||
  fail "the certificate was renewed at start: the machine took more than $margin s to get here"
# A connection opened now, used again after the renewal.
cat >keepalive.py <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2]); ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=600))
import subprocess
def serial():
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=s.getpeercert(True),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("=")[1].lower().lstrip("0")
def get():
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b'"ok"' not in data:
        chunk = s.recv(4096)
        if not chunk: sys.exit("closed")
        data += chunk
    return data.split(b" ")[1].decode()
print("before", get(), serial(), flush=True)
sys.stdin.readline()
print("after", get(), serial(), flush=True)
PY
mkfifo go
/usr/bin/python3 keepalive.py "$tls_port" "$root" <go >keepalive.txt 2>&1 &
pids+=($!)
exec 3>go
for _ in $(seq 1 100); do grep -q '^before' keepalive.txt && break; sleep 0.1; done
grep -q "^before 200 $old" keepalive.txt || fail "keep-alive connection: $(cat keepalive.txt)"
check "second start keeps certificate $old; a keep-alive connection is open"

# While it waits for the renewal: TLS 1.0 is refused; curl with the root as the only trust anchor
# over TLS 1.2 exactly and TLS 1.3; GnuTLS's certtool verifies the chain as served.
if openssl s_client -connect "127.0.0.1:$tls_port" -tls1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >s_tls1.txt 2>&1 &&
   grep -q "Protocol *: TLSv1$" s_tls1.txt; then
  fail "TLS 1.0 was accepted"
fi
grep -q "alert protocol version" s_tls1.txt || fail "TLS 1.0 not refused by the server: $(tail -3 s_tls1.txt)"
curl -sS -v --cacert "$root" --tlsv1.2 --tls-max 1.2 -o /dev/null "https://127.0.0.1:$tls_port/health" 2>curl12.txt ||
  fail "curl TLS 1.2: $(tail -3 curl12.txt)"
grep -q "SSL connection using TLSv1.2" curl12.txt || fail "curl --tls-max 1.2 did not get TLS 1.2: $(grep SSL curl12.txt)"
curl -sS -v --cacert "$root" --tlsv1.3 -o /dev/null "https://127.0.0.1:$tls_port/health" 2>curl13.txt ||
  fail "curl TLS 1.3: $(tail -3 curl13.txt)"
grep -q "SSL connection using TLSv1.3" curl13.txt || fail "curl --tlsv1.3 did not get TLS 1.3: $(grep SSL curl13.txt)"
openssl s_client -connect "127.0.0.1:$tls_port" -showcerts </dev/null 2>/dev/null |
  sed -n '/BEGIN CERT/,/END CERT/p' >served-chain.pem
[ "$(grep -c 'BEGIN CERT' served-chain.pem)" = 2 ] || fail "the server did not send its certificate and the issuing CA"
certtool --verify --load-ca-certificate "$root" --infile served-chain.pem >certtool.txt 2>&1 ||
  fail "certtool: $(cat certtool.txt)"
grep -q "Chain verification output: Verified" certtool.txt || fail "certtool: $(cat certtool.txt)"
check "TLS 1.0 refused; curl --tlsv1.2 --tls-max 1.2 and --tlsv1.3 with the root; certtool verifies the served chain"

new="$old"
for _ in $(seq 1 $(( (margin + 90) * 2 ))); do
  new="$(served_serial)"
  [ "$new" != "$old" ] && break
  sleep 0.5
done
[ "$new" != "$old" ] || fail "no renewal while running: $(cat server.err)"
grep -q "TLS certificate renewed: serial 0*$new" server.err || fail "renewal not said: $(cat server.err)"
openssl s_client -connect "127.0.0.1:$tls_port" -CAfile "$root" -verify_return_error </dev/null >s_new.txt 2>&1 ||
  fail "the renewed certificate does not verify: $(tail -5 s_new.txt)"
echo >&3; exec 3>&-
wait "${pids[0]}" || fail "keep-alive connection after the renewal: $(cat keepalive.txt)"
grep -q "^after 200 $old" keepalive.txt || fail "keep-alive connection after the renewal: $(cat keepalive.txt)"
check "renewed while running: new connections get $new, the connection opened before keeps $old"
stop
new_uri="$(cat "$home/server/tls-key.uri")"
[ "$new_uri" != "$uri" ] || fail "the renewal reused the key"

# The key as the token shows it: private, sensitive, never extractable, and the served
# certificate's public key is the token's (pkcs11-tool, with no jitsuin process running).
export SOFTHSM2_CONF="$home/softhsm2.conf"
id="$(/usr/bin/python3 -c 'import sys, urllib.parse; u = sys.argv[1]; print(urllib.parse.unquote_to_bytes([p for p in u[7:].split(";") if p.startswith("id=")][0][3:]).hex())' "$new_uri")"
p11() { pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label "$(sed -n 's/.*token=\([^;]*\).*/\1/p' <<<"$new_uri" | /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.stdin.read().strip()))')" "$@"; }
p11 --login --pin "$(cat "$home/ca.pin")" --list-objects --type privkey >objects.txt 2>&1 || fail "pkcs11-tool: $(cat objects.txt)"
awk -v id="$id" 'BEGIN { RS = "Private Key Object" } $0 ~ ("ID: *" id) { print }' objects.txt >privkey.txt
grep -q 'label: *jitsuind-tls' privkey.txt || fail "no jitsuind-tls key $id: $(cat objects.txt)"
grep -q 'sensitive.*never extractable' privkey.txt || fail "the key is extractable: $(cat privkey.txt)"
p11 --read-object --type pubkey --id "$id" -o token-pub.der >/dev/null 2>&1 || fail "cannot read the token's public key"
openssl x509 -in s_new.txt -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER >served-pub.der ||
  fail "no public key in the served certificate"
cmp -s served-pub.der token-pub.der || fail "the served certificate's key is not the token's key $id"
openssl pkey -pubin -inform DER -in token-pub.der -noout -text | grep -q 'prime256v1' || fail "not a P-256 key"
check "the served key is the token's P-256 key $id: sensitive, never extractable"

# The key the renewal replaced is gone from the token, private and public halves: one jitsuind-tls
# key pair is left, the new one.
old_id="$(/usr/bin/python3 -c 'import sys, urllib.parse; u = sys.argv[1]; print(urllib.parse.unquote_to_bytes([p for p in u[7:].split(";") if p.startswith("id=")][0][3:]).hex())' "$uri")"
p11 --login --pin "$(cat "$home/ca.pin")" --list-objects >all-objects.txt 2>&1 || fail "pkcs11-tool: $(cat all-objects.txt)"
count() {   # count KIND: "KIND Object" blocks labelled jitsuind-tls
  awk -v kind="$1 Object" 'BEGIN { n = 0 } /Object;/ { in_kind = index($0, kind) == 1 } in_kind && /label: *jitsuind-tls$/ { n++ } END { print n }' all-objects.txt
}
[ "$(count "Private Key")" = 1 ] && [ "$(count "Public Key")" = 1 ] ||
  fail "jitsuind-tls keys on the token: $(count "Private Key") private, $(count "Public Key") public: $(cat all-objects.txt)"
if grep -q "ID: *$old_id" all-objects.txt; then fail "the replaced key $old_id is still on the token: $(cat all-objects.txt)"; fi
grep -q "replaced TLS key is removed from the token (2 objects)" server.err || fail "the removal is not said: $(cat server.err)"
check "the replaced key $old_id is removed from the token (pkcs11-tool: one jitsuind-tls key pair left)"
echo "jitsuind_tls_test: all passed"
