#!/usr/bin/env bash
# Issue 20, item 1: the published files of any size, and unreadable ones, never bring jitsuind down.
# A CRL of 450 000 entries (23 MB, over the 16 MiB a whole-file read allowed) is served by GET
# (byte-identical, over HTTP and HTTPS, ten at once), HEAD and conditional GET (304) without the
# server reading it whole; a published file the server cannot read (mode 000, the server without
# CAP_DAC_OVERRIDE as a non-root service would be) answers a JSON 500 naming no path, small or
# large; the server serves on after each. On main the large GET ended the process (std::terminate,
# exit 134) and HEAD / conditional GET answered 400 with the file's absolute path.
# Usage: tests/enroll/abuse_static_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]   (CTest: abuse_static)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/jitsuind_lib.sh" abuse_static_test "$@"

"$JITSUIN" --home "$home" ca init >/dev/null
"$JITSUIN" --home "$home" crl publish >/dev/null
publish="$home/crl"
[ -f "$publish/issuing.crl" ] || fail "no published issuing.crl in $publish"

# The server as a service user would run it: without the capabilities that let root read any file
# (the home stays the server's own: it owns every file in it).
cat >jitsuind-nodac <<EOF
#!/bin/sh
exec setpriv --bounding-set=-dac_override,-dac_read_search "$JITSUIND" "\$@"
EOF
chmod 755 jitsuind-nodac
JITSUIND="$work/jitsuind-nodac"
server_config >server.json
start server.json
alive() {   # alive WHAT: the process is there and answers /health and a small published file
  kill -0 "$pid" 2>/dev/null || fail "jitsuind died after $1 (exit status in server.err?)"
  [ "$(curl -sS --cacert "$root" -o /dev/null -w '%{http_code}' "$https/health")" = 200 ] || fail "/health after $1"
  [ "$(curl -sS -o /dev/null -w '%{http_code}' "$http/crl/root.crl")" = 200 ] || fail "/crl/root.crl after $1"
}
alive "start"

# A CRL of 450 000 entries, published as `crl publish` does (a new file renamed into place).
/usr/bin/python3 "$SOURCE_DIR/tests/enroll/big_crl.py" 450000 "$publish/issuing.crl"
size="$(stat -c %s "$publish/issuing.crl")"
[ "$size" -gt $((16 * 1024 * 1024)) ] || fail "the big CRL is only $size bytes"
sleep 1.2   # the server stats a published file at most once a second
sum="$(sha256sum <"$publish/issuing.crl" | cut -d' ' -f1)"

curl -sS -D h.txt -o got.crl -w '%{http_code}' "$http/crl/issuing.crl" >code.txt
[ "$(cat code.txt)" = 200 ] || fail "GET of the big CRL over HTTP: $(cat code.txt) $(head -c 300 got.crl)"
cmp -s got.crl "$publish/issuing.crl" || fail "the big CRL served over HTTP differs ($(stat -c %s got.crl) of $size bytes)"
grep -qi "^content-length: $size" h.txt || fail "Content-Length of the big CRL: $(grep -i content-length h.txt)"
grep -qi '^content-type: application/pkix-crl' h.txt || fail "Content-Type of the big CRL: $(cat h.txt)"
etag="$(grep -i '^etag:' h.txt | cut -d' ' -f2- | tr -d '\r')"
[ -n "$etag" ] || fail "no ETag on the big CRL"
alive "GET of a 450 000-entry CRL"
check "GET of a $size-byte CRL (450 000 entries) over HTTP: byte-identical, Content-Length, ETag"

[ "$(curl -sS --cacert "$root" "$https/crl/issuing.crl" | sha256sum | cut -d' ' -f1)" = "$sum" ] ||
  fail "the big CRL over HTTPS differs"
for i in $(seq 1 10); do curl -sS -o "par$i.crl" "$http/crl/issuing.crl" & pids+=($!); done
wait "${pids[@]}"; pids=()
for i in $(seq 1 10); do cmp -s "par$i.crl" "$publish/issuing.crl" || fail "parallel GET $i differs"; done
rm -f par*.crl
alive "11 more GETs of the big CRL"
check "the big CRL over HTTPS and ten GETs at once over HTTP: byte-identical"

curl -sS -I -o /dev/null -D head.txt -w '%{http_code}' "$http/crl/issuing.crl" >code.txt
[ "$(cat code.txt)" = 200 ] || fail "HEAD of the big CRL: $(cat code.txt)"
grep -qi "^content-length: $size" head.txt || fail "HEAD Content-Length: $(cat head.txt)"
[ "$(curl -sS -o body.txt -w '%{http_code}' -H "If-None-Match: $etag" "$http/crl/issuing.crl")" = 304 ] ||
  fail "If-None-Match on the big CRL: $(cat body.txt)"
since="$(grep -i '^last-modified:' h.txt | cut -d' ' -f2- | tr -d '\r')"
[ "$(curl -sS -o body.txt -w '%{http_code}' -H "If-Modified-Since: $since" "$http/crl/issuing.crl")" = 304 ] ||
  fail "If-Modified-Since on the big CRL: $(cat body.txt)"
[ ! -s body.txt ] || fail "304 with a body: $(cat body.txt)"
alive "HEAD and conditional GETs of the big CRL"
check "HEAD (Content-Length $size) and conditional GETs (If-None-Match, If-Modified-Since: 304) of the big CRL"

# Unreadable: the big CRL (streamed: opened per request) and a small one (read once per version).
unreadable() {   # unreadable WHAT URL: a JSON 500 that names no path on the server
  local code
  code="$(curl -sS --cacert "$root" -o body.txt -w '%{http_code}' "$2")"
  [ "$code" = 500 ] || fail "$1: $code $(head -c 300 body.txt)"
  /usr/bin/python3 -c 'import json,sys; j=json.load(open("body.txt")); sys.exit(j["error"] != "internal")' ||
    fail "$1: not a JSON error: $(cat body.txt)"
  ! grep -q "$work" body.txt || fail "$1: the answer names a path on the server: $(cat body.txt)"
}
chmod 000 "$publish/issuing.crl"
unreadable "GET of the unreadable big CRL over HTTP" "$http/crl/issuing.crl"
unreadable "GET of the unreadable big CRL over HTTPS" "$https/crl/issuing.crl"
alive "GETs of an unreadable big CRL"
cp "$publish/root.crt" small.tmp && chmod 000 small.tmp && mv small.tmp "$publish/issuing.crt"
sleep 1.2
unreadable "GET of an unreadable small file" "$http/ca/issuing.crt"
for h in "-I" "-HIf-None-Match: \"x\"" "-HIf-Modified-Since: Tue, 01 Dec 2026 00:00:00 GMT"; do
  code="$(curl -sS -o body.txt -w '%{http_code}' "$h" "$http/ca/issuing.crt")"
  [ "$code" = 500 ] || fail "$h on an unreadable small file: $code $(cat body.txt)"
  ! grep -q "$work" body.txt || fail "$h: the answer names a path: $(cat body.txt)"
done
alive "requests for an unreadable small file"
grep -q 'cannot be read' server.err || fail "the server's log does not say which file cannot be read"
check "unreadable published files (big and small; GET, HEAD, conditional): JSON 500 naming no path; still serving"

# Readable again: served again.
chmod 644 "$publish/issuing.crl"
"$JITSUIN" --home "$home" crl publish >/dev/null
sleep 1.2
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$http/ca/issuing.crt")" = 200 ] || fail "issuing.crt after publishing again"
curl -sS -o got.crl "$http/crl/issuing.crl"
cmp -s got.crl "$publish/issuing.crl" || fail "the republished CRL differs"
stop
check "published again: served; SIGTERM: exit 0"
