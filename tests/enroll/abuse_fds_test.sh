#!/usr/bin/env bash
# Issue 20, item 2: idle connections never exhaust jitsuind's file descriptors, and HTTPS (its TLS
# key on the token, server.tls_key "token", the default) serves after they are gone.
#   A: jitsuind under an open-files limit of 1024 (prlimit, as the old unit's default): its cap is
#      (1024 - 128) / 2 = 448 connections. 1 100 idle connections to the HTTPS port and 600 to the
#      plain one: new clients are still served while they are open (the ones idle longest are
#      closed to make room), the log says so in a few lines, and afterwards /health, /ready, a
#      login (a TLS handshake signed on the token) and a published CRL answer.
#   B: the limit lowered under a running jitsuind (prlimit --pid; its cap from the limit it
#      started with): accept() fails with EMFILE. The listener backs off instead of spinning (CPU
#      time and log lines stay small). Once the connections are gone, HTTPS serves again; or, when
#      the shortage left the token's key unusable (handshakes fail: "Object handle invalid") and
#      finding it again does not mend it, /ready (on the metrics listener) answers 503 and
#      jitsuind exits 75 after 10 s of failing handshakes, to be restarted (Restart=on-failure):
#      restarted, it serves.
# On main: an accept() loop (~87 % CPU, ~500 000 log lines in 8 s), new clients not served while
# the connections are open, and with the token's key every later handshake failing.
# Usage: tests/enroll/abuse_fds_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: abuse_fds)
set -euo pipefail
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # the test's own clients
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" abuse_fds_test "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
printf '%s\n' "passphrase of admin, long enough" >admin.pw
"$JITSUIN" --home "$home" ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
printf '{"user": "admin", "password": "passphrase of admin, long enough"}' >login.json
REAL_JITSUIND="$JITSUIND"

code() { curl -sS --max-time 20 --cacert "$root" -o body.txt -w '%{http_code}' "$@" 2>curl.err || echo "curl failed: $(cat curl.err)"; }
ops=""   # where /health and /ready are: $https, or the metrics listener (run B)
serves() {   # serves WHAT: /health, /ready, a login over HTTPS (a new TLS connection each) and a CRL
  local c
  c="$(code "${ops:-$https}/health")"; [ "$c" = 200 ] || fail "$1: /health: $c"
  c="$(code "${ops:-$https}/ready")"; [ "$c" = 200 ] || fail "$1: /ready: $c $(cat body.txt)"
  c="$(code --data-binary @login.json "$https/api/v1/session.login")"; [ "$c" = 200 ] || fail "$1: login: $c $(cat body.txt)"
  c="$(code "$http/crl/issuing.crl")"; [ "$c" = 200 ] || fail "$1: CRL: $c"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
idle() {   # idle NAME PORT N: opens N idle connections in the background; prints how many
  /usr/bin/python3 "$SOURCE_DIR/tests/enroll/idle_conns.py" "$2" "$3" "$1" &
  pids+=($!)
  for _ in $(seq 1 600); do [ -f "$1.open" ] && break; sleep 0.1; done
  [ -f "$1.open" ] || fail "idle_conns.py $1 did not open its connections"
  cat "$1.open"
}
idle_end() {   # idle_end NAME: closes them; prints how many the server had closed
  touch "$1.stop"
  for _ in $(seq 1 600); do [ -f "$1.closed" ] && break; sleep 0.1; done
  [ -f "$1.closed" ] || fail "idle_conns.py $1 did not end"
  cat "$1.closed"
}

# ---------------------------------------------------------------- A: started under a 1024 limit
cat >jitsuind-1024 <<EOF
#!/bin/sh
exec prlimit --nofile=1024:1024 "$REAL_JITSUIND" "\$@"
EOF
chmod 755 jitsuind-1024
JITSUIND="$work/jitsuind-1024"
server_config timeout_seconds=60 >server.json   # idle connections are not timed out during the test
start server.json
grep -q 'at most 448 connections' server.err || fail "the cap is not derived from the limit: $(cat server.err)"
serves "start"

idle tls "$tls_port" 1100 >/dev/null
# While they are open: new clients are served (the ones idle longest make room for them).
serves "1 100 idle connections to the HTTPS port open"
idle plain "$http_port" 600 >/dev/null
serves "1 100 idle connections to HTTPS and 600 to HTTP open"
ls "/proc/$pid/fd" | wc -l >fds.txt
[ "$(cat fds.txt)" -lt 1024 ] || fail "jitsuind holds $(cat fds.txt) descriptors"
closed_http="$(idle_end plain)"
closed_tls="$(idle_end tls)"
[ "$closed_tls" -gt 500 ] || fail "the server closed only $closed_tls of the idle HTTPS connections"
kill -0 "$pid" || fail "jitsuind died"
serves "the idle connections gone"
lines="$(wc -l <server.err)"
[ "$lines" -lt 100 ] || fail "$lines lines of log: $(sort server.err | uniq -c | sort -rn | head -5)"
grep -q '448 connections open (server.max_connections): the one idle longest is closed' server.err ||
  fail "the log does not say that idle connections were closed at the cap: $(cat server.err)"
check "limit 1024: cap 448; 1 100 + 600 idle connections: new clients served meanwhile ($(cat fds.txt) descriptors held), $closed_tls + $closed_http idle ones closed, $lines log lines; serving after"
stop

# ---------------------------------------------------------------- B: the limit lowered while running
JITSUIND="$REAL_JITSUIND"
test_config b.json server.timeout_seconds=60 server.metrics_listen=127.0.0.1:0   # /ready reachable without TLS
start_b() {
  start b.json
  ops="http://$(grep -o 'metrics=127\.0\.0\.1:[0-9]*' server.out | cut -d= -f2)"
  [ "$ops" != "http://" ] || fail "no metrics address: $(cat server.out)"
}
start_b
serves "start (B)"
prlimit --pid "$pid" --nofile=1024:1024
before="$(cpu_ticks)"
idle shortage "$tls_port" 1100 >/dev/null
# Out of descriptors: accept() fails with EMFILE for these 5 s; meanwhile clients try HTTPS (their
# handshakes use the token's key while the process has no descriptor to spare).
for _ in 1 2 3; do curl -s --max-time 1.5 --cacert "$root" -o /dev/null "$https/health" || true; done
sleep 1
after="$(cpu_ticks)"
ticks="$(( after - before ))"
hz="$(getconf CLK_TCK)"
# A listener that spins on EMFILE uses a whole core (500 ticks in 5 s); backing off (50-500 ms),
# it uses next to none. The bound is generous for a loaded machine: half a core.
[ "$ticks" -lt $(( hz * 5 / 2 )) ] || fail "jitsuind used $ticks ticks of CPU in 5 s out of descriptors (spinning?)"
grep -q 'accept: Too many open files' server.err || fail "no accept error logged: $(tail -5 server.err)"
idle_end shortage >/dev/null
lines="$(wc -l <server.err)"
[ "$lines" -lt 100 ] || fail "$lines lines of log: $(sort server.err | uniq -c | sort -rn | head -5)"
# Afterwards HTTPS serves again: the handshakes work, or, when the shortage left the token's key
# unusable (SoftHSM2 drops the object, its handle is invalid) and finding it again does not mend
# it, /ready answers 503 naming the failing handshakes and jitsuind stops with exit status 75 after
# 10 s of them, for the service manager to restart it (Restart=on-failure); restarted, it serves.
saw503=""; exited=""; ok=""
for _ in $(seq 1 80); do
  if ! kill -0 "$pid" 2>/dev/null; then exited=1; break; fi
  if [ "$(code --data-binary @login.json "$https/api/v1/session.login")" = 200 ]; then ok=1; break; fi
  if [ "$(code "$ops/ready")" = 503 ] && grep -q 'TLS handshakes fail' body.txt; then saw503=1; fi
  sleep 0.5
done
how="HTTPS served again"
if [ -n "$exited" ]; then
  status=0; wait "$pid" || status=$?; pid=""
  [ "$status" = 75 ] || fail "jitsuind exited $status (75 expected) after its TLS key failed: $(tail -5 server.err)"
  [ -n "$saw503" ] || fail "/ready did not answer 503 while the handshakes failed"
  grep -q 'stopping, exit status 75' server.err || fail "the log does not say why it stopped: $(tail -5 server.err)"
  how="the TLS key unusable: /ready 503, exit 75, restarted"
  start_b
else
  [ -n "$ok" ] || fail "HTTPS does not serve after the descriptor shortage, and jitsuind did not stop: $(tail -5 server.err)"
fi
serves "after the descriptor shortage"
check "limit lowered to 1024 under a running server, 1 100 idle connections: accept backs off ($ticks ticks of CPU in 5 s, $lines log lines); $how; HTTPS, /ready and logins serve after"
stop
