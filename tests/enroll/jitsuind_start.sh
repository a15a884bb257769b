# Sourced by the jitsuind shell tests (and tests/bench): starting the built jitsuind on 127.0.0.1
# port 0 and reading the bound addresses from its first line of standard output
# (`jitsuind: https=ADDR:PORT http=ADDR:PORT [metrics=ADDR:PORT]`). Needs a fail() function.
#
# jitsuind_wait PID OUT [ERR]: waits until the jitsuind started as PID has printed its first line
#   into the file OUT and prints that line; fail()s when it ends first (with ERR, its stderr, quoted).
# jitsuind_ports LINE: sets TLS_PORT, HTTP_PORT, HTTPS_URL and HTTP_URL from that line.
# start_jitsuind HOME OUT_PREFIX [ARG...]: starts $JITSUIND --home HOME on port 0 (ARG... added,
#   e.g. --config FILE) with stdout in OUT_PREFIX.out and stderr in OUT_PREFIX.err, waits for it, and
#   sets JITSUIND_PID, the ports and URLs above and ROOT_PEM (the root to trust).
# stop_jitsuind stops it (SIGTERM; exit 0 expected); kill_jitsuind for the EXIT trap.
# test_config OUT [SECTION.KEY=VALUE...]: writes OUT, the documented config/jitsuin.json with its
#   profiles_dir made absolute and each SECTION.KEY set to VALUE (JSON if it parses, else a string).
# start_smtp_sink MAILDIR: starts the real SMTP sink (tests/ra/smtp_sink.py, aiosmtpd) writing into
#   MAILDIR, with sink.out and sink.err in the current folder; sets SMTP_SINK_PID and SMTP_URL.
jitsuind_wait() {
  local pid="$1" out="$2" err="${3:-}" _
  for _ in $(seq 1 1200); do
    grep -q '^jitsuind: https=' "$out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "jitsuind (pid $pid) exited at start-up${err:+: $(cat "$err" 2>/dev/null)}"
    sleep 0.1
  done
  grep -m1 '^jitsuind: https=' "$out" || fail "jitsuind printed no addresses"
}
jitsuind_ports() {
  [[ "$1" =~ https=127\.0\.0\.1:([0-9]+)\ http=127\.0\.0\.1:([0-9]+) ]] || fail "no ports on the first line: $1"
  TLS_PORT="${BASH_REMATCH[1]}"
  HTTP_PORT="${BASH_REMATCH[2]}"
  HTTPS_URL="https://127.0.0.1:$TLS_PORT"
  HTTP_URL="http://127.0.0.1:$HTTP_PORT"
}
start_jitsuind() {
  local home="$1" out="$2" line
  shift 2
  : >"$out.out"   # emptied before the start: a restart must not read the last run's ports
  "$JITSUIND" --home "$home" "$@" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$out.out" 2>"$out.err" &
  JITSUIND_PID=$!
  line="$(jitsuind_wait "$JITSUIND_PID" "$out.out" "$out.err")"
  jitsuind_ports "$line"
  ROOT_PEM="$home/server/root.pem"
}
stop_jitsuind() {
  local status=0
  [ -n "${JITSUIND_PID:-}" ] || return 0
  kill -TERM "$JITSUIND_PID"
  wait "$JITSUIND_PID" || status=$?
  JITSUIND_PID=""
  [ "$status" = 0 ] || fail "jitsuind exited $status on SIGTERM"
}
kill_jitsuind() {   # for the EXIT trap
  if [ -n "${JITSUIND_PID:-}" ] && kill -0 "$JITSUIND_PID" 2>/dev/null; then kill -KILL "$JITSUIND_PID" 2>/dev/null || true; fi
}
jitsuin_source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
test_config() {
  /usr/bin/python3 - "$jitsuin_source_dir/config/jitsuin.json" "$@" <<'PY'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
c = json.load(open(src))
c["ca"]["profiles_dir"] = os.path.join(os.path.dirname(src), c["ca"]["profiles_dir"])
for setting in sys.argv[3:]:
    key, _, value = setting.partition("=")
    section, _, name = key.partition(".")
    if section not in c or not name:
        sys.exit("test_config: no setting " + key)
    try:
        c[section][name] = json.loads(value)
    except ValueError:
        c[section][name] = value
with open(out, "w") as f:
    json.dump(c, f, indent=1)
PY
}
start_smtp_sink() {
  /usr/bin/python3 "$jitsuin_source_dir/tests/ra/smtp_sink.py" "$1" >sink.out 2>sink.err &
  SMTP_SINK_PID=$!
  for _ in $(seq 1 100); do [ -s sink.out ] && break; sleep 0.1; done
  [ -s sink.out ] || fail "the SMTP sink did not start: $(cat sink.err)"
  SMTP_URL="smtp://127.0.0.1:$(head -n1 sink.out)"
}
