#!/usr/bin/env bash
# The browser consoles in a real browser (CTest web_browser): a CA home with the RA staff of
# tests/enroll/ra_fixture.sh, two paper bundles entered with the CLI, jitsuind on port 0, then
# tests/web/browser_test.py drives headless Chromium (chromedriver + Selenium) through the pages,
# the CA's root trusted in the browser profile's own NSS database. Screenshots go to ARTIFACTS.
# Usage: tests/web/web_test.sh PATH/TO/jitsuin PATH/TO/jitsuind ARTIFACTS
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
mkdir -p "$3"
ARTIFACTS="$(realpath "$3")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-web.XXXXXX")"
source "$here/../enroll/jitsuind_start.sh"
source "$here/../enroll/ra_fixture.sh"
trap 'kill_jitsuind; rm -rf "$work"' EXIT
fail() {
  echo "web_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
cd "$work"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.png
home="$work/home"
ra_fixture_files
sed -i 's/"token_quantity": 2/"token_quantity": 1/' bundle.json   # Form 3: one eToken for its one Form-5 applicant
ra_staff "$home"
as() { local who="$1"; shift; JITSUIN_SESSION_FILE="$home.$who" "$JITSUIN" --home "$home" "$@"; }
json() { /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# A third operator with a first (temporary) password: the browser's first login.
printf '%s\n' "first password for sato from admin" >sato.first
printf '%s\n' "passphrase of sato, long enough" >sato.pw
as admin login --user admin --password-file admin.pw >/dev/null
as admin ra operator-add --name sato --role operator --display-name "佐藤 三郎" --password-file sato.first >/dev/null
as admin logout >/dev/null

# Bundle 1 (Sakura Kensetsu), entered by suzuki, no documents yet: the browser records them.
as suzuki login --user suzuki --password-file suzuki.pw >/dev/null
bundle1="$(as suzuki ra bundle-create --file bundle.json --json | json 'j["bundle"]')"
app1="$(as suzuki ra application-list --bundle "$bundle1" --json | json 'j[0]["id"]')"
as suzuki logout >/dev/null

# Bundle 2 (another company), entered and checked by takahashi (an approver): approving it
# himself is refused (two-person rule).
sed -e 's/桜建設株式会社/梅工業株式会社/; s/サクラケンセツ/ウメコウギョウ/; s/Sakura Kensetsu/Ume Kogyo/g' \
    -e 's/山田 太郎/梅田 一夫/g; s/ヤマダ タロウ/ウメダ カズオ/; s/Taro Yamada/Kazuo Umeda/; s/sakura/ume/g' bundle.json >bundle2.json
as takahashi login --user takahashi --password-file takahashi.pw >/dev/null
bundle2="$(as takahashi ra bundle-create --file bundle2.json --json | json 'j["bundle"]')"
app2="$(as takahashi ra application-list --bundle "$bundle2" --json | json 'j[0]["id"]')"
for kind in registration_current representative_seal; do
  as takahashi ra document-add --bundle "$bundle2" --kind "$kind" --issued "$(days_ago '10 days')" >/dev/null
done
for kind in residence_record personal_seal; do
  as takahashi ra document-add --bundle "$bundle2" --application "$app2" --kind "$kind" --issued "$(days_ago '10 days')" >/dev/null
done
check2="$(as takahashi ra check --bundle "$bundle2" --json)"
[ "$(json 'j["complete"]' <<<"$check2")" = True ] || fail "bundle 2 should be complete: $check2"
as takahashi logout >/dev/null

# webadmin: an auditor (audrey) with her own password, for the audit log page.
printf '%s\n' "first password for audrey from admin" >audrey.first
printf '%s\n' "passphrase of audrey, long enough" >audrey.pw
as admin login --user admin --password-file admin.pw >/dev/null
as admin ra operator-add --name audrey --role auditor --display-name "監査 礼子" --password-file audrey.first >/dev/null
as admin logout >/dev/null
as audrey login --user audrey --password-file audrey.first >/dev/null
as audrey ra passwd --current-file audrey.first --new-file audrey.pw >/dev/null
as audrey logout >/dev/null

# The server's configuration: the repository's, with
# - mail by SMTP to a real sink (tests/ra/smtp_sink.py) writing the home's maildir, where the
#   scenarios read it; one attempt per mail, so that with the sink stopped a mail fails at once and
#   the outbox page shows it (webadmin: the scenario then starts the sink again and retries);
# - a first expiry notice 366 days before the end (ra.expiry_notice_days), so that a one-year
#   certificate issued in the test is due its notice at once and can be renewed from the console's
#   expiry list (webra).
start_smtp_sink "$home/maildir"
sink_pid=$SMTP_SINK_PID
smtp_port="$(head -n1 sink.out)"
trap 'kill_jitsuind; kill "$sink_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
test_config "$work/web.json" mail.smtp_url="$SMTP_URL" mail.max_attempts=1 ra.expiry_notice_days='[366, 30]'
start_jitsuind "$home" server --config "$work/web.json"
cat >web_test.json <<EOF
{"url": "$HTTPS_URL", "http_url": "$HTTP_URL", "root": "$ROOT_PEM", "home": "$home", "work": "$work", "artifacts": "$(realpath "$ARTIFACTS")",
 "bundle1": $bundle1, "app1": $app1, "bundle2": $bundle2, "app2": $app2, "today": "$today",
 "days_ago_10": "$(days_ago '10 days')", "days_ago_4_months": "$(days_ago '4 months')",
 "days_ago_3": "$(days_ago '3 days')", "sink_pid": $sink_pid, "smtp_port": $smtp_port,
 "jitsuin": "$JITSUIN", "config": "$work/web.json"}
EOF
/usr/bin/python3 "$here/browser_test.py" web_test.json || fail "the browser scenarios failed"
stop_jitsuind
echo "web_test: all passed (screenshots in $ARTIFACTS)"
