# Sourced by the jitsuind shell tests that read the mail (enroll_test.sh, smime_test.sh), after
# ops_lib.sh (work folder, pids, fail, PY, SOURCE_DIR). sink_and_config starts the SMTP sink
# (tests/ra/smtp_sink.py, aiosmtpd) writing the maildir $work/maildir, and writes $work/jitsuin.json:
# the documented config with the sink, free ports, the TLS key in a file, an outbox interval of an
# hour (so prompt delivery is the worker woken by the request), rate limits above the PIN limits;
# exports JITSUIN_CONFIG.
sink_and_config() {
  $PY "$SOURCE_DIR/tests/ra/smtp_sink.py" "$work/maildir" >sink.out 2>sink.err &
  pids[sink]=$!
  for _ in $(seq 1 100); do [ -s sink.out ] && break; sleep 0.1; done
  smtp_port="$(head -n1 sink.out)"
  [ -n "$smtp_port" ] || fail "the SMTP sink did not start"
  $PY - "$SOURCE_DIR/config/jitsuin.json" "$work/jitsuin.json" "$smtp_port" <<'PY'
import json, os, sys
src, dst, port = sys.argv[1:]
c = json.load(open(src))
c["ca"]["profiles_dir"] = os.path.join(os.path.dirname(src), c["ca"]["profiles_dir"])
c["mail"]["smtp_url"] = "smtp://127.0.0.1:" + port
c["server"].update(listen="127.0.0.1:0", http_listen="127.0.0.1:0", tls_key="file", outbox_interval_seconds=3600,
                   auth_rate_per_account=1000, auth_rate_per_address=1000)
json.dump(c, open(dst, "w"), indent=1)
PY
  export JITSUIN_CONFIG="$work/jitsuin.json"
}
