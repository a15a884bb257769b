#!/usr/bin/env bash
# CRL benchmark: wall time and peak RSS of `jitsuin crl publish` for N revoked entries, beside
# `openssl ca -gencrl` over the same serials, revocation dates and reasons in the same run.
# Not a test assertion: it fails only when something does not work (a CRL that does not verify,
# a wrong entry count, entries that differ from openssl's in serial, date or reason).
#
# Usage: bench_crl.sh [--jitsuin PATH] [--key p256|rsa2048] [--partitions SIZE] [--work DIR] [--keep] [N ...]
#   N        entry counts (default: 100000 1000000)
#   --key    issuing CA key type for both jitsuin (on SoftHSM2) and openssl (software key)
#   --partitions  the certificates in CRL partitions of SIZE (serials as partitioned issuance
#            makes them, ca.crl.partition_size; default 100000, the configuration's default):
#            jitsuin writes one CRL per partition (partition 0 is issuing.crl), compared with
#            openssl's one CRL as the union of their entries (at most 127 partitions); 0: the
#            certificates issued before partitions, all on issuing.crl
#   --work   scratch folder (default: a fresh temp dir, removed at the end unless --keep)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
jitsuin="${JITSUIN:-$here/../../build/enroll/jitsuin}"
key=p256
partitions=100000
work=""
keep=0
sizes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --jitsuin) jitsuin="$2"; shift 2 ;;
    --key) key="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "bench_crl: unknown option $1" >&2; exit 2 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
# A serial: 16 bytes, the ASCII digits of the row number (positive, distinct, DER-minimal); with
# partitions, 0x3f, the partition (4 bytes) and 11 digits, as ca/src/x509util.h partitioned_serial.
serial_sql="CAST(printf('%016d', i) AS BLOB)"
if [ "$partitions" -gt 0 ]; then
  for n in "${sizes[@]}"; do
    [ $((n / partitions)) -lt 128 ] || { echo "bench_crl: at most 127 partitions ($n / $partitions)" >&2; exit 2; }
  done
  serial_sql="CAST(x'3f' || x'000000' || CAST(char(i / $partitions) AS BLOB) || CAST(printf('%011d', i) AS BLOB) AS BLOB)"
fi
case "$key" in
  p256) ossl_newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
  rsa2048) ossl_newkey=(-newkey rsa:2048) ;;
  *) echo "bench_crl: --key takes p256 or rsa2048" >&2; exit 2 ;;
esac
for tool in sqlite3 openssl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench_crl: $tool is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
[ -x "$jitsuin" ] || { echo "bench_crl: no jitsuin binary at $jitsuin (build it, or pass --jitsuin)" >&2; exit 1; }

if [ -z "$work" ]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/jitsuin-bench-crl-XXXXXX")"
  [ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

fail() { echo "bench_crl: FAILED: $*" >&2; exit 1; }

# "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.13" -> seconds; max RSS in MB.
wall_seconds() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }
cpu_seconds() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

# The entries of a CRL, one line each: serial (upper-case hex), revocation date, reason; sorted.
crl_entries() {
  openssl crl -inform "$2" -in "$1" -noout -text | awk '
    /^    Serial Number:/ { if (s != "") print s " | " d " | " r; s = toupper($3); d = ""; r = "unspecified" }
    /Revocation Date:/ { sub(/.*Revocation Date: /, ""); d = $0 }
    /CRL Reason Code:/ { getline; sub(/^ +/, ""); r = $0 }
    END { if (s != "") print s " | " d " | " r }' | sort
}

summary=()
for n in "${sizes[@]}"; do
  dir="$work/n$n"
  rm -rf "$dir"
  mkdir -p "$dir/openssl"
  echo "== $n revoked entries ($key issuing key)"

  # --- jitsuin: a CA home, then the revoked rows straight into the database in one transaction.
  "$jitsuin" --home "$dir/home" ca init --root-key p256 --issuing-key "$key" >/dev/null
  db="$dir/home/jitsuin.db"
  issuer_id="$(sqlite3 "$db" "SELECT id FROM authorities WHERE role = 'issuing'")"
  now="$(date +%s)"
  fill_start="$(date +%s.%N)"
  # Serials: see serial_sql. Revocation dates in the past hour spread over the rows; reasons cycle through five codes
  # (0 = unspecified, written without a reason extension by both tools).
  sqlite3 "$db" <<SQL
PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
INSERT INTO certificates (serial, issuer_id, profile, subject, spki_sha256, not_before, not_after, issued_at, der,
                          revoked_at, revocation_effective, revocation_reason)
SELECT $serial_sql, $issuer_id, 'bench', 'CN=bench ' || i, randomblob(32),
       $now - 86400 * 30, $now + 86400 * 335, $now - 86400 * 30, x'3000',
       $now - 3600 + (i % 3600), $now - 3600 + (i % 3600),
       CASE i % 5 WHEN 0 THEN 0 WHEN 1 THEN 1 WHEN 2 THEN 3 WHEN 3 THEN 4 ELSE 5 END
FROM s;
COMMIT;
SQL
  fill_end="$(date +%s.%N)"

  # --- openssl: a software CA of the same key type and an index.txt with the same entries.
  (
    cd "$dir/openssl"
    openssl req -x509 -new "${ossl_newkey[@]}" -nodes -keyout ca.key -out ca.crt -days 365 \
      -subj "/C=JP/O=Jitsuin/CN=Bench OpenSSL CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    echo 01 > crlnumber
    echo "unique_subject = no" > index.txt.attr
    cat > ca.cnf <<EOF
[ ca ]
default_ca = bench
[ bench ]
dir = .
database = ./index.txt
crlnumber = ./crlnumber
certificate = ./ca.crt
private_key = ./ca.key
default_md = sha256
default_crl_hours = 48
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
  )
  # index.txt: status, expiry, revocation "date[,reason]", serial, file, subject (YYMMDDHHMMSSZ dates;
  # SQLite's strftime has no %y).
  sqlite3 -separator $'\t' "$db" \
    "SELECT 'R', substr(strftime('%Y%m%d%H%M%SZ', not_after, 'unixepoch'), 3),
            substr(strftime('%Y%m%d%H%M%SZ', revocation_effective, 'unixepoch'), 3) ||
              CASE revocation_reason WHEN 0 THEN '' WHEN 1 THEN ',keyCompromise' WHEN 3 THEN ',affiliationChanged'
                WHEN 4 THEN ',superseded' WHEN 5 THEN ',cessationOfOperation' END,
            hex(serial), 'unknown', '/' || replace(subject, ',', '/')
     FROM certificates WHERE issuer_id = $issuer_id AND revocation_effective IS NOT NULL" > "$dir/openssl/index.txt"
  [ "$(wc -l < "$dir/openssl/index.txt")" -eq "$n" ] || fail "index.txt does not have $n lines"
  sync

  # --- timed runs
  /usr/bin/time -v -o "$dir/time-jitsuin.txt" \
    "$jitsuin" --home "$dir/home" crl publish --out "$dir/crl" > "$dir/publish.txt"
  (cd "$dir/openssl" && /usr/bin/time -v -o ../time-openssl.txt \
    openssl ca -config ca.cnf -gencrl -out crl.pem 2> ../openssl-ca.log) || { cat "$dir/openssl-ca.log" >&2; fail "openssl ca -gencrl failed"; }

  # --- checks: the CRL verifies with the issuing CA certificate, and holds the same serials as openssl's.
  grep -q "published issuing CRL #1 with $n entries" "$dir/publish.txt" || { cat "$dir/publish.txt" >&2; fail "jitsuin did not report $n entries"; }
  openssl x509 -inform DER -in "$dir/crl/issuing.crt" -out "$dir/issuing.pem"
  crls=("$dir/crl/issuing.crl")
  [ "$partitions" -eq 0 ] || crls+=("$dir"/crl/issuing-*.crl)
  j_size=0
  : > "$dir/entries-jitsuin.txt"
  for crl in "${crls[@]}"; do
    openssl crl -inform DER -in "$crl" -noout -verify -CAfile "$dir/issuing.pem" 2>&1 | grep -q "verify OK" ||
      fail "jitsuin's CRL $crl does not verify with the issuing CA certificate"
    openssl crl -in "$crl.pem" -noout -verify -CAfile "$dir/issuing.pem" 2>&1 | grep -q "verify OK" ||
      fail "jitsuin's PEM CRL $crl.pem does not verify"
    crl_entries "$crl" DER >> "$dir/entries-jitsuin.txt"
    j_size=$((j_size + $(stat -c %s "$crl")))
  done
  sort -o "$dir/entries-jitsuin.txt" "$dir/entries-jitsuin.txt"
  crl_entries "$dir/openssl/crl.pem" PEM > "$dir/entries-openssl.txt"
  count="$(wc -l < "$dir/entries-jitsuin.txt")"
  [ "$count" -eq "$n" ] || fail "jitsuin's CRL has $count entries, expected $n"
  cmp -s "$dir/entries-jitsuin.txt" "$dir/entries-openssl.txt" ||
    fail "jitsuin's and openssl's CRLs differ in their entries (serial, date or reason): see $dir/entries-*.txt (--keep)"

  j_wall="$(wall_seconds "$dir/time-jitsuin.txt")"; j_cpu="$(cpu_seconds "$dir/time-jitsuin.txt")"; j_rss="$(rss_mb "$dir/time-jitsuin.txt")"
  o_wall="$(wall_seconds "$dir/time-openssl.txt")"; o_cpu="$(cpu_seconds "$dir/time-openssl.txt")"; o_rss="$(rss_mb "$dir/time-openssl.txt")"
  o_size="$(openssl crl -in "$dir/openssl/crl.pem" -outform DER | wc -c)"
  fill="$(awk "BEGIN { printf \"%.1f\", $fill_end - $fill_start }")"
  echo "   database fill ${fill}s; ${#crls[@]} CRL(s) verify, $count entries, the same entries as openssl's"
  echo "   jitsuin crl publish : ${j_wall}s wall, ${j_cpu}s cpu, ${j_rss} MB peak RSS, DER ${j_size} bytes"
  echo "   openssl ca -gencrl  : ${o_wall}s wall, ${o_cpu}s cpu, ${o_rss} MB peak RSS, DER ${o_size} bytes"
  summary+=("$(printf '%9s  %8ss %7s MB   %8ss %7s MB' "$n" "$j_wall" "$j_rss" "$o_wall" "$o_rss")")
  [ "$keep" = 1 ] || rm -rf "$dir"
done

echo
if [ "$partitions" -gt 0 ]; then
  echo "CRL publication, $key issuing key, partitions of $partitions (same entries, same run)"
else
  echo "CRL publication, $key issuing key (same entries, same run)"
fi
printf '%9s  %20s   %20s\n' "entries" "jitsuin crl publish" "openssl ca -gencrl"
printf '%9s  %9s %10s   %9s %10s\n' "" "wall" "peak RSS" "wall" "peak RSS"
for line in "${summary[@]}"; do echo "$line"; done
