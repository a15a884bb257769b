# Sourced by jitsuind_abuse_test.sh and jitsuind_tls_test.sh: the binaries and source folder from
# the arguments, a temp work folder (removed at exit, with every process named in $pids killed),
# fail/check, a config from config/jitsuin.json with server values changed, and start-up on port 0.
# Usage: source jitsuind_lib.sh NAME PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]
test_name="$1"
JITSUIN="$(realpath "$2")"
JITSUIND="$(realpath "$3")"
SOURCE_DIR="$(realpath "${4:-$(dirname "${BASH_SOURCE[0]}")/../..}")"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN JITSUIN_TEST_NOW
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/$test_name.XXXXXX")"
pid=""; pids=()
cleanup() {
  for p in "${pids[@]}" "$pid"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
home="$work/home"
root="$home/server/root.pem"
cd "$work"
fail() {
  echo "$test_name: FAILED: $*" >&2
  echo "--- server stderr:" >&2; cat "$work/server.err" >&2 2>/dev/null || true
  exit 1
}
check() { echo "ok: $*"; }

server_config() {   # server_config KEY=VALUE... > FILE: config/jitsuin.json with server.KEY = VALUE (integers)
  /usr/bin/python3 - "$SOURCE_DIR/config" "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/jitsuin.json"))
c["ca"]["profiles_dir"] = sys.argv[1] + "/profiles"
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    c["server"][k] = int(v)
print(json.dumps(c))
PY
}

source "$SOURCE_DIR/tests/enroll/jitsuind_start.sh"
start() {   # start CONFIG [ENV=VALUE...]: sets pid, tls_port, http_port, https, http
  local config="$1"; shift
  : >server.out   # emptied before the start: a restart must not read the last run's ports
  env "$@" "$JITSUIND" --home "$home" --config "$config" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    >server.out 2>server.err &
  pid=$!
  local line; line="$(jitsuind_wait "$pid" server.out)"
  jitsuind_ports "$line"
  tls_port="$TLS_PORT"; http_port="$HTTP_PORT"; https="$HTTPS_URL"; http="$HTTP_URL"
}
stop() { kill -TERM "$pid"; local s=0; wait "$pid" || s=$?; pid=""; [ "$s" = 0 ] || fail "jitsuind exited $s"; }
