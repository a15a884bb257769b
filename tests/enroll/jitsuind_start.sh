# Sourced by the jitsuind shell tests: start_jitsuind HOME OUT_PREFIX starts the built jitsuind on
# 127.0.0.1 port 0 and sets JITSUIND_PID, HTTPS_URL, HTTP_URL and ROOT_PEM (the root to trust).
# stop_jitsuind stops it (SIGTERM; exit 0 expected). Needs $JITSUIND and a fail() function.
start_jitsuind() {
  local home="$1" out="$2" line
  "$JITSUIND" --home "$home" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$out.out" 2>"$out.err" &
  JITSUIND_PID=$!
  for _ in $(seq 1 600); do
    grep -q '^jitsuind: https=' "$out.out" 2>/dev/null && break
    kill -0 "$JITSUIND_PID" 2>/dev/null || fail "jitsuind exited at start-up: $(cat "$out.err")"
    sleep 0.1
  done
  line="$(head -n1 "$out.out")"
  [[ "$line" =~ https=127\.0\.0\.1:([0-9]+)\ http=127\.0\.0\.1:([0-9]+) ]] || fail "no ports on the first line: $line"
  HTTPS_URL="https://127.0.0.1:${BASH_REMATCH[1]}"
  HTTP_URL="http://127.0.0.1:${BASH_REMATCH[2]}"
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
