#!/usr/bin/env bash
# README "The RA day over the API", run verbatim (CTest jitsuind_api_day): the section's code
# blocks, in order, as one bash script (set -euo pipefail, so any failing call stops it; the curl
# calls use --fail-with-body) against jitsuind on a fresh home with the RA staff of the walkthrough,
# then the outcome checked with the CLI, the PDFs and the access log.
# Usage: tests/enroll/api_day_test.sh PATH/TO/jitsuin PATH/TO/jitsuind SOURCE_DIR   (KEEP=1 keeps the temp folder)
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
SOURCE_DIR="$(realpath "$3")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuind-api-day.XXXXXX")"
source "$here/jitsuind_start.sh"
trap 'kill_jitsuind; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
fail() {
  echo "api_day_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
home="$work/home"
source "$here/ra_fixture.sh"
ra_fixture_files
ra_staff "$home"
start_jitsuind "$home" server

# The section's blocks, verbatim.
/usr/bin/python3 - "$SOURCE_DIR/README.md" >day.sh <<'PY'
import re, sys
readme = open(sys.argv[1], encoding="utf-8").read()
start = readme.find("### The RA day over the API")
if start < 0:
    sys.exit("README.md has no section '### The RA day over the API'")
end = min(i for i in (readme.find("\n## ", start), readme.find("\n### ", start + 1), len(readme)) if i >= 0)
blocks = re.findall(r"^```\n(.*?)^```", readme[start:end], re.S | re.M)
if len(blocks) < 5:
    sys.exit(f"only {len(blocks)} code blocks in the section")
print("set -euo pipefail")
for b in blocks:
    print(b)
PY
API="$HTTPS_URL/api/v1" CACERT="$ROOT_PEM" bash -v day.sh >day.out 2>day.err || {
  cat day.err day.out >&2
  fail "a README command failed (see above)"
}
cat day.err
echo "--- output"
cat day.out

# The outcome: Yamada's notice is mailed and delivered, Ito's PIN issued; both letters are PDFs
# with the PIN that was shown; suzuki's own approval was refused with 403.
export JITSUIN_SESSION_FILE="$work/check.session"
"$JITSUIN" --home "$home" login --user suzuki --password-file suzuki.pw >/dev/null
states="$("$JITSUIN" --home "$home" ra application-list --bundle 1 --json | jq -c '[.[] | [.id, .state]]')"
[ "$states" = '[[1,"notice_mailed"],[2,"pin_issued"]]' ] || fail "application states after the day: $states"
[ "$("$JITSUIN" --home "$home" ra mail-list --json | jq -r '.[0].state')" = delivered ] || fail "the mailing is not delivered"
[ "$("$JITSUIN" --home "$home" ra account-list --company 1 --json | jq length)" = 2 ] || fail "expected a company ID and a user ID"
"$JITSUIN" --home "$home" logout >/dev/null
grep -A1 '^{"error":"forbidden"' day.out | grep -qx 'HTTP 403' || fail "suzuki's own approval was not refused with 403"
pins=($(grep -oE '"pin": "[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}"' day.out | cut -d'"' -f4))
[ "${#pins[@]}" = 2 ] || fail "expected two PINs in the output"
for i in 1 2; do
  [ "$(head -c5 "letter-$i.pdf")" = "%PDF-" ] || fail "letter-$i.pdf is not a PDF"
  pdftotext "letter-$i.pdf" - | tr -d ' \n-' | grep -qF "${pins[$((i - 1))]//-/}" || fail "letter-$i.pdf lacks its PIN"
done
# Every call went over the API (the access log), and the handlers of the day were all used.
tail -n +2 server.out | jq -r 'select(.status == 200) | .target' | sort -u >answered.txt
for handler in session.login ra.whoami ra.bundle.create ra.application.add ra.document.add ra.check ra.approve \
               ra.accounts.issue ra.pin.issue ra.mail.sent ra.mail.event ra.application.show ra.application.list \
               ra.account.list session.logout; do
  grep -qx "/api/v1/$handler" answered.txt || fail "no successful $handler in the access log"
done
if grep -q -e "${pins[0]}" -e "passphrase of" server.out server.err; then fail "a PIN or password in the server's logs"; fi
stop_jitsuind
echo "api_day_test: the README's RA day over the API ran and did what it says"
