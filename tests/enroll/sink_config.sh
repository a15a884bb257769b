# Sourced by the jitsuind shell tests that read the mail (enroll_test.sh, smime_test.sh), after
# ops_lib.sh (work folder, pids, fail; jitsuind_start.sh). sink_and_config starts the SMTP sink
# (start_smtp_sink: tests/ra/smtp_sink.py, aiosmtpd) writing the maildir $work/maildir, and writes
# $work/jitsuin.json (test_config): the documented config with the sink, free ports, the TLS key in
# a file, an outbox interval of an hour (so prompt delivery is the worker woken by the request),
# rate limits above the PIN limits; exports JITSUIN_CONFIG. sink_ra_home: that, and the RA's people
# and papers (ra_fixture.sh) with the CA and staff made in $work/home ($home).
sink_and_config() {
  start_smtp_sink "$work/maildir"
  pids[sink]=$SMTP_SINK_PID
  test_config "$work/jitsuin.json" mail.smtp_url="$SMTP_URL" server.listen=127.0.0.1:0 server.http_listen=127.0.0.1:0 \
    server.tls_key=file server.outbox_interval_seconds=3600 server.auth_rate_per_account=1000 server.auth_rate_per_address=1000
  export JITSUIN_CONFIG="$work/jitsuin.json"
}
sink_ra_home() {
  home="$work/home"
  source "$SOURCE_DIR/tests/enroll/ra_fixture.sh"
  sink_and_config
  ra_fixture_files
  ra_staff "$home"
}
