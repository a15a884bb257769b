#!/usr/bin/env bash
# jitsuind run for real (CTest: jitsuind_ops): /health, /ready, /metrics, the metrics listener and
# the outbox worker, with the built binaries on a fresh temp home (embedded SoftHSM2 token, SQLite
# file), a real SMTP sink (tests/ra/smtp_sink.py, python3-aiosmtpd) and curl. The /metrics text is
# checked by a strict parser of the exposition format (tests/enroll/prom_check.py).
# Usage: tests/enroll/ops_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh" jitsuind_ops "$@"
show_on_failure=(server.err)
home="$work/home"

# The real SMTP sink on a free port.
$PY "$SOURCE_DIR/tests/ra/smtp_sink.py" "$work/received" >sink.out 2>sink.err &
pids[sink]=$!
for _ in $(seq 1 100); do [ -s sink.out ] && break; sleep 0.1; done
smtp_port="$(head -n1 sink.out)"
[ -n "$smtp_port" ] || fail "the SMTP sink did not start: $(cat sink.err)"
received() { find "$work/received/new" -type f 2>/dev/null | wc -l; }

# The configuration: the documented one, with the SMTP sink, a short token lock wait (so that a
# held token shows quickly), free ports, and the variant under test (metrics listener, interval).
configure() {   # configure METRICS_LISTEN OUTBOX_INTERVAL
  $PY - "$SOURCE_DIR/config/jitsuin.json" "$work/jitsuin.json" "$smtp_port" "$1" "$2" <<'EOF'
import json, os, sys
src, dst, port, metrics, interval = sys.argv[1:]
c = json.load(open(src))
c["ca"]["profiles_dir"] = os.path.join(os.path.dirname(src), c["ca"]["profiles_dir"])
c["mail"]["smtp_url"] = "smtp://127.0.0.1:" + port
c["hsm"]["lock_wait_seconds"] = 1
# The TLS key in a file: below, another process holds the embedded token's lock for long, and a
# key on the token would hold up every new TLS handshake too (README "TLS identity").
c["server"]["tls_key"] = "file"
c["server"].update(listen="127.0.0.1:0", http_listen="127.0.0.1:0", metrics_listen=metrics,
                   outbox_interval_seconds=int(interval))
json.dump(c, open(dst, "w"), indent=1)
EOF
}
export JITSUIN_CONFIG="$work/jitsuin.json"
configure "" 3600

start_server() {
  : >server.out   # emptied before the start: a restart must not read the last run's ports
  "$JITSUIND" --home "$home" >server.out 2>server.err &
  pid=$!
  pids[server]=$pid
  line="$(wait_served "$pid" server.out)"
  [[ "$line" =~ https=127\.0\.0\.1:([0-9]+)\ http=127\.0\.0\.1:([0-9]+)(\ metrics=127\.0\.0\.1:([0-9]+))? ]] ||
    fail "no ports on the first line: $line"
  https="https://127.0.0.1:${BASH_REMATCH[1]}"; http="http://127.0.0.1:${BASH_REMATCH[2]}"
  metrics_url="${BASH_REMATCH[4]:+http://127.0.0.1:${BASH_REMATCH[4]}}"
}
stop_server() { stop_served "$pid" server.err; }
root="$home/server/root.pem"
code() { curl -sS --cacert "$root" -o body.out -w '%{http_code}' "$@"; }
wait_for_mail() {   # wait_for_mail COUNT: the sink holds COUNT mails (within 30 s)
  for _ in $(seq 1 300); do [ "$(received)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "the sink holds $(received) mails, not $1; outbox: $("$JITSUIN" --home "$home" outbox list 2>&1)"
}

# A CA, its CRLs, the first administrator.
"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null

# ---------------------------------------------------------------- without server.metrics_listen
start_server
[ -z "$metrics_url" ] || fail "a metrics listener without server.metrics_listen: $line"
grep -q "metrics $https/metrics" server.err || fail "the start-up lines do not name /metrics: $(cat server.err)"

# /health: liveness; /ready: database and token; both over HTTPS without a login, not on plain HTTP.
[ "$(code "$https/health")" = 200 ] && grep -q '"status":"ok"' body.out || fail "/health: $(cat body.out)"
[ "$(code "$https/ready")" = 200 ] || fail "/ready: $(cat body.out)"
[ "$(jget body.out 'j["ready"], j["database"]["ready"], j["token"]["ready"]')" = "(True, True, True)" ] ||
  fail "/ready body: $(cat body.out)"
for p in /health /ready /metrics; do
  [ "$(code "$http$p")" = 404 ] || fail "plain HTTP serves $p"
done
[ "$(code -X POST -d '' "$https/ready")" = 405 ] || fail "POST /ready is not 405"
check "/health and /ready over HTTPS (no login), 404 on plain HTTP"

# The outbox worker: a mail queued through the API (ra.bundle.create: the contact's "application
# received") reaches the SMTP sink with no `jitsuin outbox deliver` run. The interval is an hour,
# so only the wake-up after the API call can have sent it.
code -d '{"user":"admin","password":"passphrase of admin, long enough"}' "$https/api/v1/session.login" >/dev/null
token="$(jget body.out 'j["token"]')"
today="$(TZ=Asia/Tokyo date +%F)"
cat >bundle.json <<EOF
{
  "company": {"name": "桜建設株式会社", "name_kana": "サクラケンセツ", "name_romaji": "Sakura Kensetsu",
              "address": "東京都港区新橋1-1-1", "representative_name": "桜 一郎", "representative_title": "代表取締役"},
  "contract_kind": "new", "applied_by": "representative", "received_on": "$today",
  "seal_form": true, "applicant_list": true, "token_quantity": 1,
  "contacts": [{"role": "contact", "name": "連絡 花子", "department": "総務部", "email": "contact@sakura.example.jp",
                "phone": "03-0000-0001"}],
  "applicants": [{"name_kanji": "山田 太郎", "name_kana": "ヤマダ タロウ", "name_romaji": "Taro Yamada",
                  "organization_romaji": "Sakura Kensetsu", "department_romaji": "Koji-bu", "title_romaji": "Bucho",
                  "email": "taro.yamada@sakura.example.jp", "postcode": "105-0004",
                  "home_address": "東京都港区新橋2-6-2", "validity_years": 2}],
  "users": [{"name": "山田 太郎", "department": "工事部", "email": "taro.yamada@sakura.example.jp"}]
}
EOF
[ "$(received)" = 0 ] || fail "mail before any was queued"
[ "$(code -H "Authorization: Bearer $token" --data-binary @bundle.json "$https/api/v1/ra.bundle.create")" = 200 ] ||
  fail "ra.bundle.create: $(cat body.out)"
wait_for_mail 1
grep -rq "contact@sakura.example.jp" "$work/received/new" || fail "the mail is not the contact's"
# The worker logs the run after the SMTP exchange the sink has already written down: wait for it.
for _ in $(seq 1 100); do grep -q 'jitsuind: outbox: sent 1' server.err && break; sleep 0.1; done
grep -q 'jitsuind: outbox: sent 1' server.err || fail "the worker did not report the delivery"
"$JITSUIN" --home "$home" outbox list | grep -q 'sent' || fail "the outbox row is not sent"
check "a mail queued over the API reached the SMTP sink without 'outbox deliver'"

# Requests to count: known routes, an unknown path and an unknown API name (both route="other").
code "$https/nothing/here" >/dev/null
code -X POST -d '{}' "$https/api/v1/no.such.handler" >/dev/null
code -H "Authorization: Bearer $token" -d '{}' "$https/api/v1/ra.whoami" >/dev/null
curl -sS -o /dev/null "$http/crl/issuing.crl"

# The token held by another process (the embedded token's lock): /ready says the token is not
# ready (503), the database is; a signature over the API fails and is counted.
$PY -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(120)' \
  "$home/token.lock" >lock.out &
lock_pid=$!
pids[lock]=$lock_pid
for _ in $(seq 1 100); do grep -q locked lock.out && break; sleep 0.1; done
grep -q locked lock.out || fail "could not take the token's lock"
[ "$(code "$https/ready")" = 503 ] || fail "/ready with the token held: $(cat body.out)"
[ "$(jget body.out 'j["ready"], j["database"]["ready"], j["token"]["ready"]')" = "(False, True, False)" ] ||
  fail "/ready body with the token held: $(cat body.out)"
grep -q 'token.lock' body.out || fail "/ready does not say why the token is not ready: $(cat body.out)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=x" -out leaf.csr 2>/dev/null
$PY -c 'import json,sys; print(json.dumps({"profile": "individual-signing", "csr": open("leaf.csr").read(),
  "subject": {"organization": "Sakura Kensetsu", "common_name": "Ken Sato"}}))' >issue.json
status="$(code -H "Authorization: Bearer $token" --data-binary @issue.json "$https/api/v1/ca.issue")"
[ "$status" -ge 500 ] && [ "$(jget body.out 'j["error"]')" = hsm ] || fail "ca.issue with the token held: $status $(cat body.out)"
kill "$lock_pid"; wait "$lock_pid" 2>/dev/null || true
[ "$(code "$https/ready")" = 200 ] || fail "/ready after the token was released: $(cat body.out)"
check "token held by another process: /ready 503 naming the token; ca.issue fails (hsm); released: 200"

# /metrics: the exposition format, checked strictly, with the figures of what happened above.
curl -sS --cacert "$root" -D metrics.h -o metrics.txt "$https/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' metrics.h || fail "/metrics content type: $(cat metrics.h)"
issued="$("$JITSUIN" --home "$home" ca show --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["certificates_issued"])')"
$PY "$SOURCE_DIR/tests/enroll/prom_check.py" metrics.txt \
  's("jitsuind_http_requests_total", route="/health", status="200") == 1' \
  's("jitsuind_http_requests_total", route="/ready", status="200") == 2' \
  's("jitsuind_http_requests_total", route="/ready", status="503") == 1' \
  's("jitsuind_http_requests_total", route="/ready", status="405") == 1' \
  's("jitsuind_http_requests_total", route="other", status="404") == 2' \
  's("jitsuind_http_requests_total", route="/metrics", status="404") == 1' \
  's("jitsuind_http_requests_total", route="/api/v1/ra.bundle.create", status="200") == 1' \
  's("jitsuind_http_requests_total", route="/api/v1/ra.whoami", status="200") == 1' \
  's("jitsuind_http_requests_total", route="/crl/issuing.crl", status="200") == 1' \
  'not any("nothing" in v or "no.such" in v for k in m for _, v in k[1])' \
  's("jitsuind_http_request_duration_seconds_count", route="/health") == 2' \
  's("jitsuind_http_request_duration_seconds_bucket", route="/ready", le="+Inf") == 5' \
  's("jitsuind_token_sign_errors_total") == 1' \
  's("jitsuind_outbox_delivered_total", result="sent") == 1' \
  's("jitsuin_outbox_mails", state="pending") == 0 and s("jitsuin_outbox_mails", state="failed") == 0' \
  "s(\"jitsuin_certificates_issued_total\") == $issued and $issued >= 1" \
  's("jitsuin_certificates_revoked_total") == 0' || fail "/metrics: $(cat metrics.txt)"
check "/metrics: strict exposition format; requests by route pattern, latency, token errors, outbox, certificates"

# The database gone from its path (moved away; the server's open connections still read the old
# file): /ready says the database is not ready (503), naming it; moved back: 200 again.
mv "$home/jitsuin.db" "$home/jitsuin.db.away"
[ "$(code "$https/ready")" = 503 ] || fail "/ready with the database moved away: $(cat body.out)"
[ "$(jget body.out 'j["ready"], j["database"]["ready"], j["token"]["ready"]')" = "(False, False, False)" ] ||
  fail "/ready body with the database moved away: $(cat body.out)"
grep -q 'jitsuin.db' body.out || fail "/ready does not name the database: $(cat body.out)"
mv "$home/jitsuin.db.away" "$home/jitsuin.db"
[ "$(code "$https/ready")" = 200 ] || fail "/ready with the database back: $(cat body.out)"
check "database moved away from its path: /ready 503 naming it; moved back: 200"
stop_server
check "SIGTERM: stopped, exit 0"

# ---------------------------------------------------------------- with server.metrics_listen
configure "127.0.0.1:0" 1
start_server
[ -n "$metrics_url" ] || fail "no metrics=ADDR:PORT on the first line: $line"
for p in /health /ready /metrics; do
  [ "$(code "$metrics_url$p")" = 200 ] || fail "metrics listener $p: $(cat body.out)"
  [ "$(code "$https$p")" = 404 ] || fail "HTTPS still serves $p"
  [ "$(code "$http$p")" = 404 ] || fail "plain HTTP serves $p"
done
for p in /crl/issuing.crl /ca/root.crt /api/v1/session.login /nothing; do
  [ "$(code -X POST -d '{}' "$metrics_url$p")" = 404 ] || fail "the metrics listener serves $p"
done
[ "$(code "$http/crl/issuing.crl")" = 200 ] || fail "the CRL is no longer served on plain HTTP"
check "server.metrics_listen: /health /ready /metrics there only; nothing else there"

# The worker's interval (1 s here): a mail queued without the API (the CLI) leaves too.
export JITSUIN_SESSION_FILE="$work/admin.session"
"$JITSUIN" --home "$home" login --user admin --password-file admin.pw >/dev/null
"$JITSUIN" --home "$home" ra bundle-create --file bundle.json >/dev/null
wait_for_mail 2
curl -sS -o metrics.txt "$metrics_url/metrics"
$PY "$SOURCE_DIR/tests/enroll/prom_check.py" metrics.txt \
  's("jitsuind_outbox_delivered_total", result="sent") == 1' \
  's("jitsuind_http_requests_total", route="/health", status="200") == 1' || fail "/metrics: $(cat metrics.txt)"
check "outbox worker every server.outbox_interval_seconds: a mail queued by the CLI reached the sink"
stop_server
check "SIGTERM with the worker running: stopped, exit 0"
echo "jitsuind_ops: all checks passed"
