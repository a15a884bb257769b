#!/usr/bin/env bash
# `jitsuin token` on an applicant's SoftHSM2 "eToken" of its own (SOFTHSM2_CONF and token folder in
# a temp folder; no CA, no home): list, init (confirmation, wipe, both PINs), show, change-pin,
# set-pin (same-PIN warning), unblock, the PIN policy, wrong PINs, token not found, --pin-fd,
# export-chain, and renew on a token that still holds the old certificate (guides, changes
# nothing). pkcs11-tool (OpenSC) checks what is on the token independently.
# Usage: tests/enroll/token_cli_test.sh PATH/TO/jitsuin     (KEEP=1 keeps the temp folder)
set -euo pipefail
JITSUIN="$(realpath "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULE=/usr/lib/softhsm/libsofthsm2.so
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW
work="$(mktemp -d "${TMPDIR:-/tmp}/token-cli.XXXXXX")"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" >softhsm2.conf
export SOFTHSM2_CONF="$work/softhsm2.conf"
fail() { echo "token_cli_test: FAILED: $*" >&2; exit 1; }
check() { echo "ok: $*"; }
# tok ARGS... with the PINs (one per line) on fd 3 from $PINS; output in out.txt, status in $rc.
tok() {
  rc=0
  "$JITSUIN" token "$@" --pin-fd 3 3<<<"$PINS" >out.txt 2>&1 </dev/null || rc=$?
}
objects() {   # objects USER-PIN: pkcs11-tool's listing of the token "etoken"
  pkcs11-tool --module "$MODULE" --token-label "${2:-etoken}" --login --pin "$1" --list-objects 2>/dev/null
}

"$JITSUIN" token list >out.txt
grep -q "uninitialised token" out.txt || fail "token list does not show the uninitialised token: $(cat out.txt)"
check "token list shows the free SoftHSM2 token"

PINS=$'so-pin-1\nab' tok init --label etoken
[ "$rc" != 0 ] && grep -q "user PIN must be at least 4 characters" out.txt || fail "short PIN accepted: $(cat out.txt)"
"$JITSUIN" token list --json | jq -e 'all(.[]; .initialized == false)' >/dev/null || fail "a refused init changed the token"
PINS=$'so-pin-1\nuser-pin-1' tok init --label etoken
[ "$rc" = 0 ] || fail "token init: $(cat out.txt)"
"$JITSUIN" token list --json | jq -e '.[] | select(.label == "etoken") | .initialized and .user_pin_initialized' >/dev/null ||
  fail "token list --json does not show etoken initialised"
check "token init on a new token; PIN policy (>= 4 characters) refused first, nothing changed"

# Something on the token: a key pair and a certificate with its ID (as an old enrollment left them).
pkcs11-tool --module "$MODULE" --token-label etoken --login --pin user-pin-1 --keypairgen --key-type EC:prime256v1 \
  --id 0a0b --label "old key" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=Old Root" -days 30 \
  -out old.pem 2>/dev/null
openssl x509 -in old.pem -outform der -out old.der
pkcs11-tool --module "$MODULE" --token-label etoken --login --pin user-pin-1 --write-object old.der --type cert \
  --id 0a0b --label "old certificate" >/dev/null 2>&1
"$JITSUIN" token show --token etoken >out.txt
grep -q "certificate  id 0a0b  label 'old certificate'  CN=Old Root  expires 20" out.txt || fail "token show: $(cat out.txt)"
PINS=user-pin-1 tok show --login --json
[ "$rc" = 0 ] && jq -e '[.objects[].kind] | sort == ["certificate", "private key", "public key"]' out.txt >/dev/null ||
  fail "token show --login: $(cat out.txt)"
check "token show lists keys and certificates with ID, label, subject and expiry"

"$JITSUIN" token export-chain --token etoken --out chain.pem
cmp <(openssl x509 -in chain.pem -outform der) old.der || fail "export-chain is not the certificate on the token"
check "token export-chain reads the certificate back"

rc=0; "$JITSUIN" token show --token no-such-token >out.txt 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "token not found: no initialised token matches 'no-such-token'" out.txt && grep -q "'etoken'" out.txt ||
  fail "token not found: $(cat out.txt)"
check "token not found names the tokens present"

# Renewal while the old certificate is there: guidance, nothing changed, no server contacted.
rc=0
"$JITSUIN" token renew --token etoken --server https://127.0.0.1:9/ --application 5 --ca old.pem >out.txt 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "renew on a token with the old certificate did not refuse: $(cat out.txt)"
grep -q "still holds the old key and certificate" out.txt && grep -q "Initialise the token now, right before the renewal" out.txt &&
  grep -q "token renew --init --token 'etoken'" out.txt || fail "renew gives no guidance: $(cat out.txt)"
objects user-pin-1 | grep -q "old certificate" || fail "renew changed the token"
check "token renew on a token that still holds the old certificate guides through init and changes nothing"

# Wrong PINs, then change-pin, set-pin (same-PIN warning), unblock.
PINS=$'wrong-pin\nnew-user-2' tok change-pin --token etoken
[ "$rc" = 1 ] && grep -q "wrong PIN" out.txt && grep -q "after too many wrong PINs the token locks it" out.txt ||
  fail "wrong PIN message: $(cat out.txt)"
"$JITSUIN" token list --json | jq -e '.[] | select(.label == "etoken") | .user_pin_count_low' >/dev/null ||
  fail "count low not shown after a wrong PIN"
PINS=$'user-pin-1\nuser-pin-2' tok change-pin --token etoken
[ "$rc" = 0 ] || fail "change-pin: $(cat out.txt)"
objects user-pin-2 | grep -q "old key" || fail "the new user PIN does not log in"
PINS=$'so-pin-1\nso-pin-2' tok change-pin --so --token etoken
[ "$rc" = 0 ] || fail "change-pin --so: $(cat out.txt)"
PINS=$'so-pin-2\nso-pin-2' tok set-pin --token etoken
[ "$rc" = 0 ] && grep -q "warning: the user PIN and the admin (SO) PIN are the same" out.txt || fail "set-pin: $(cat out.txt)"
for i in 1 2 3; do PINS=wrong tok show --login --token etoken; done
PINS=$'so-pin-2\nuser-pin-3' tok unblock --token etoken
[ "$rc" = 0 ] || fail "unblock: $(cat out.txt)"
objects user-pin-3 | grep -q "old key" || fail "unblock lost the key or did not set the PIN"
PINS=$'so-pin-wrong\nuser-pin-4' tok unblock --token etoken
[ "$rc" = 1 ] && grep -q "wrong PIN" out.txt || fail "unblock with a wrong SO PIN: $(cat out.txt)"
check "wrong PIN message, change-pin (user and SO), set-pin warns on equal PINs, unblock with the SO PIN keeps the keys"

# PINs only from the terminal or --pin-fd.
rc=0; "$JITSUIN" token change-pin --token etoken --pin-fd 7 >out.txt 2>&1 </dev/null || rc=$?
[ "$rc" = 2 ] && grep -q "not an open file descriptor" out.txt || fail "--pin-fd 7 unchecked: $(cat out.txt)"
rc=0; setsid -w "$JITSUIN" token change-pin --token etoken >out.txt 2>&1 </dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "no terminal to ask for the PIN: use --pin-fd N" out.txt || fail "no terminal: $(cat out.txt)"
check "PINs come from --pin-fd or the terminal only"

# init of an initialised token: confirmation needed (no terminal: --yes), current SO PIN checked, then wiped.
PINS=$'so-pin-2\nso-pin-3\nuser-pin-5' rc=0
setsid -w "$JITSUIN" token init --token etoken --pin-fd 3 3<<<"$PINS" >out.txt 2>&1 </dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "stored certificate(s), which are lost for good" out.txt && grep -q "add --yes" out.txt ||
  fail "init without confirmation: $(cat out.txt)"
objects user-pin-3 | grep -q "old certificate" || fail "an unconfirmed init changed the token"
PINS=$'so-pin-wrong\nso-pin-3\nuser-pin-5' tok init --token etoken --yes
[ "$rc" = 1 ] && grep -q "wrong" out.txt || fail "init with a wrong SO PIN: $(cat out.txt)"
objects user-pin-3 | grep -q "old certificate" || fail "a refused init changed the token"
PINS=$'so-pin-2\nso-pin-3\nuser-pin-5' tok init --token etoken --label etoken2 --yes
[ "$rc" = 0 ] || fail "init: $(cat out.txt)"
listing="$(objects user-pin-5 etoken2)"
! grep -q "Object;" <<<"$listing" || fail "init left objects: $listing"
PINS=$'so-pin-3\nuser-pin-6' tok unblock --token etoken2
[ "$rc" = 0 ] || fail "the new SO PIN does not work after init: $(cat out.txt)"
check "token init asks confirmation, needs the current SO PIN, wipes every object and sets label and both PINs"

# On a terminal: prompts, no echo, a new PIN typed twice (tests/enroll/tty_pins.py types like a person).
TTY="/usr/bin/python3 $here/tty_pins.py"
printf '%s\n' user-pin-6 user-pin-7 user-pin-7 | $TTY "$JITSUIN" token change-pin --token etoken2 >tty.out 2>&1 ||
  fail "change-pin on a terminal: $(cat tty.out)"
grep -q "current user PIN: " tty.out && grep -q "again, to confirm: " tty.out || fail "no prompts: $(cat tty.out)"
! grep -q "user-pin-" tty.out || fail "a PIN was echoed: $(cat tty.out)"
objects user-pin-7 etoken2 >/dev/null || fail "the PIN typed on the terminal was not set"
rc=0; printf '%s\n' user-pin-7 pin-one-1 pin-two-2 | $TTY "$JITSUIN" token change-pin --token etoken2 >tty.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "the two PINs differ; nothing was changed" tty.out || fail "PIN confirmation: $(cat tty.out)"
rc=0; printf '%s\n' no | $TTY "$JITSUIN" token init --token etoken2 >tty.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "Type 'yes' to go on: " tty.out && grep -q "not confirmed; nothing was changed" tty.out ||
  fail "init confirmation on a terminal: $(cat tty.out)"
objects user-pin-7 etoken2 >/dev/null || fail "an unconfirmed init changed the token"
check "on a terminal: prompts without echo, new PINs typed twice, init asks 'yes'"

echo "token_cli_test: all checks passed"
