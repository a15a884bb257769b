#!/usr/bin/env bash
# The CLI and the API cannot drift apart (CTest jitsuind_parity): one RA scenario — a bundle for a
# company, an application added, documents recorded, the check (incomplete, resubmitted, complete),
# approval by a second operator, the PIN and its letter, the restricted-delivery mailing, the
# company's IDs, then lists and shows — run through the jitsuin CLI (--json) on home A and through
# curl against jitsuind on home B, both homes set up by the same fixture. Every step's JSON must be
# the same on both paths (tests/enroll/parity_compare.py: times, PINs and the homes' paths
# normalised); a refused step must be refused on both with the same error kind and message. Each
# request and answer must also be what enroll/openapi.json says (tests/enroll/openapi_validate.py).
# Usage: tests/enroll/parity_test.sh PATH/TO/jitsuin PATH/TO/jitsuind   (KEEP=1 keeps the temp folder)
set -euo pipefail
JITSUIN="$(realpath "$1")"
JITSUIND="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuind-parity.XXXXXX")"
source "$here/jitsuind_start.sh"
trap 'kill_jitsuind; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$work"
mkdir cli api
fail() {
  echo "parity_test: FAILED: $*" >&2
  cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
A="$work/cli-home"   # driven by the CLI
B="$work/api-home"   # driven over HTTPS by curl

source "$here/ra_fixture.sh"
ra_fixture_files
ra_staff "$A"
ra_staff "$B"
start_jitsuind "$B" server

# Logging in: `jitsuin login` on A, session.login on B (the token goes in Authorization: Bearer).
declare -A token
for who in suzuki takahashi; do
  JITSUIN_SESSION_FILE="$A.$who" "$JITSUIN" --home "$A" login --user "$who" --password-file "$who.pw" >/dev/null
  body="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"user": sys.argv[1], "password": open(sys.argv[2]).read().strip()}))' "$who" "$who.pw")"
  [ "$(curl -sS --cacert "$ROOT_PEM" -o login.json -w '%{http_code}' --data-binary "$body" "$HTTPS_URL/api/v1/session.login")" = 200 ] ||
    fail "session.login $who: $(cat login.json)"
  token[$who]="$(/usr/bin/python3 -c 'import json; print(json.load(open("login.json"))["token"])')"
done

# step NAME WHO HANDLER BODY -- JITSUIN-ARGS...: the step through both paths, compared.
n=0
step() {
  local name="$1" who="$2" handler="$3" body="$4" status=0 code
  shift 5
  n=$((n + 1))
  name="$(printf '%02d' "$n")-$name"
  JITSUIN_SESSION_FILE="$A.$who" "$JITSUIN" --home "$A" "$@" >"cli/$name.json" 2>"cli/$name.err" || status=$?
  code="$(curl -sS --cacert "$ROOT_PEM" -o "api/$name.json" -w '%{http_code}' -H 'Content-Type: application/json' \
          -H "Authorization: Bearer ${token[$who]}" --data-binary "$body" "$HTTPS_URL/api/v1/$handler")"
  /usr/bin/python3 "$here/parity_compare.py" "$name ($handler / jitsuin $1 $2)" "$status" "cli/$name.json" \
    "cli/$name.err" "$code" "api/$name.json" "$A" "$B" || fail "step $name differs"
  printf '%s' "$body" >"api/$name.request"
  /usr/bin/python3 "$here/openapi_validate.py" "$here/../../enroll/openapi.json" "$handler" "api/$name.request" "$code" \
    "api/$name.json" || fail "step $name: the API's traffic is not what enroll/openapi.json describes"
}
# A value from the last step's output (the same on both sides, or the step would have failed).
last() { /usr/bin/python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$(ls cli/*.json | tail -n1)" "$1"; }

form5="$(cat form5.json)"

step bundle-create suzuki ra.bundle.create "$(cat bundle.json)" -- ra bundle-create --file bundle.json --json
bundle="$(last 'j["bundle"]')"; company="$(last 'j["company"]')"; app1="$(last 'j["applications"][0]')"
step application-add suzuki ra.application.add "{\"bundle\": $bundle, \"form\": $form5}" \
  -- ra application-add --bundle "$bundle" --file form5.json --json
app2="$(last 'j["application"]')"
doc() {   # doc KIND ISSUED [APPLICATION]
  local body="{\"bundle\": $bundle, \"kind\": \"$1\", \"issued\": \"$2\", \"received\": \"$today\"" args=()
  if [ -n "${3:-}" ]; then body+=", \"application\": $3"; args=(--application "$3"); fi
  step "document-add-$1" suzuki ra.document.add "$body}" -- ra document-add --bundle "$bundle" "${args[@]}" \
    --kind "$1" --issued "$2" --received "$today" --json
}
doc registration_current "$(days_ago '10 days')"
doc representative_seal "$(days_ago '10 days')"
doc residence_record "$(days_ago '20 days')" "$app1"
doc personal_seal "$(days_ago '20 days')" "$app1"
doc residence_record "$(days_ago '4 months')" "$app2"   # stale: the check sends the bundle back
doc personal_seal "$(days_ago '20 days')" "$app2"
step check-incomplete suzuki ra.check "{\"bundle\": $bundle}" -- ra check --bundle "$bundle" --json
[ "$(last 'j["complete"]')" = False ] || fail "the check should find the stale residence record"
step approve-unchecked takahashi ra.approve "{\"bundle\": $bundle}" -- ra approve --bundle "$bundle" --json
step resubmit suzuki ra.resubmit "{\"bundle\": $bundle, \"note\": \"住民票を再提出\"}" \
  -- ra resubmit --bundle "$bundle" --note "住民票を再提出" --json
doc residence_record "$(days_ago '3 days')" "$app2"
step check-complete suzuki ra.check "{\"bundle\": $bundle}" -- ra check --bundle "$bundle" --json
[ "$(last 'j["complete"]')" = True ] || fail "the bundle should now be complete"
step approve-own-entry suzuki ra.approve "{\"bundle\": $bundle}" -- ra approve --bundle "$bundle" --json
step approve takahashi ra.approve "{\"bundle\": $bundle}" -- ra approve --bundle "$bundle" --json
step accounts-issue suzuki ra.accounts.issue "{\"bundle\": $bundle}" -- ra accounts-issue --bundle "$bundle" --json
for app in "$app1" "$app2"; do
  step issue-pin suzuki ra.pin.issue "{\"application\": $app}" \
    -- ra issue-pin --application "$app" --letter "letter-$app.pdf" --json
done
step issue-pin-again takahashi ra.pin.issue "{\"application\": $app1}" \
  -- ra issue-pin --application "$app1" --letter letter-again.pdf --json
step mail-sent suzuki ra.mail.sent "{\"application\": $app1, \"tracking\": \"1234-5678-9012\", \"date\": \"$today\"}" \
  -- ra mail-sent --application "$app1" --tracking 1234-5678-9012 --date "$today" --json
step mail-event suzuki ra.mail.event "{\"tracking\": \"1234-5678-9012\", \"event\": \"delivered\", \"date\": \"$today\"}" \
  -- ra mail-event --tracking 1234-5678-9012 --event delivered --date "$today" --json
step bundle-show suzuki ra.bundle.show "{\"id\": $bundle}" -- ra bundle-show --id "$bundle" --json
step bundle-list suzuki ra.bundle.list '{"company": "サクラ"}' -- ra bundle-list --company サクラ --json
for app in "$app1" "$app2"; do
  step application-show suzuki ra.application.show "{\"id\": $app}" -- ra application-show --id "$app" --json
done
step application-list suzuki ra.application.list "{\"bundle\": $bundle}" -- ra application-list --bundle "$bundle" --json
step application-search suzuki ra.application.list '{"applicant": "yamada", "state": "notice_mailed"}' \
  -- ra application-list --applicant yamada --state notice_mailed --json
[ "$(last 'len(j)')" = 1 ] || fail "Yamada's application should be notice_mailed"
step document-list suzuki ra.document.list "{\"bundle\": $bundle}" -- ra document-list --bundle "$bundle" --json
step mail-list suzuki ra.mail.list '{}' -- ra mail-list --json
step account-list suzuki ra.account.list "{\"company\": $company}" -- ra account-list --company "$company" --json
step operator-list suzuki ra.operator.list '{}' -- ra operator-list --json
step company-certificates suzuki ra.company_certificates "{\"company\": $company}" \
  -- ra company-certificates --company "$company" --json
stop_jitsuind
echo "parity_test: all $n steps the same through the CLI and the API"
