# Shared set-up of the tests that run jitsuind and ./run.sh for real (ops_test.sh, run_sh_test.sh,
# units_test.sh). Source it after `set -euo pipefail` with the script's arguments:
#   source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh" NAME "$@"    (args: jitsuin jitsuind [SOURCE_DIR])
# Gives JITSUIN, JITSUIND, BINDIR, SOURCE_DIR, a private work folder (the current directory,
# removed at exit with every process in `pids` killed), fail, check, PY, jget, and
# wait_served / stop_served for a jitsuind started in the background.
ops_name="$1"
JITSUIN="$(realpath "$2")"
JITSUIND="$(realpath "$3")"
SOURCE_DIR="$(realpath "${4:-$(dirname "${BASH_SOURCE[0]}")/../..}")"
BINDIR="$(dirname "$JITSUIN")"
unset JITSUIN_CONFIG JITSUIN_SESSION_FILE JITSUIN_CA_PIN
umask 077
work="$(mktemp -d "${TMPDIR:-/tmp}/$ops_name.XXXXXX")"
declare -A pids=()
ops_cleanup() {
  local p
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap ops_cleanup EXIT
cd "$work"
# Files shown when a check fails (the server's stderr, say).
show_on_failure=()
fail() {
  echo "$ops_name: FAILED: $*" >&2
  local f
  for f in "${show_on_failure[@]}"; do echo "--- $f:" >&2; cat "$work/$f" >&2 2>/dev/null || true; done
  exit 1
}
check() { echo "ok: $*"; }
PY=/usr/bin/python3
jget() { $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# wait_served PID OUT: waits until the jitsuind started as PID has printed its first line into OUT
# (`jitsuind: https=ADDR:PORT http=ADDR:PORT [metrics=ADDR:PORT]`) and returns that line.
source "$SOURCE_DIR/tests/enroll/jitsuind_start.sh"
wait_served() { jitsuind_wait "$1" "$2"; }

# stop_served PID ERR [SIGNAL]: stops the jitsuind started as PID (SIGTERM unless named) and
# checks that it drained and exited 0 (ERR: its stderr).
stop_served() {
  kill "-${3:-TERM}" "$1"
  local rc=0
  wait "$1" || rc=$?
  local k
  for k in "${!pids[@]}"; do [ "${pids[$k]}" != "$1" ] || unset "pids[$k]"; done
  [ "$rc" = 0 ] || fail "jitsuind exited $rc after SIG${3:-TERM}"
  grep -q 'jitsuind: stopped' "$2" || fail "no 'stopped' after SIG${3:-TERM}"
}
