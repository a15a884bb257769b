#!/usr/bin/env bash
# Quick start: install what is missing, build, initialise the embedded CA on first start (SQLite
# database + SoftHSM2 token), publish the CRLs, make the first administrator on first start (a
# generated temporary password, shown once), then run jitsuind in the foreground (Ctrl-C or
# SIGTERM stops it). Arguments are passed to jitsuind (e.g. --listen 127.0.0.1:0).
#   JITSUIN_HOME=DIR       the home (default ./var)
#   JITSUIN_SKIP_BUILD=1   no package installation, no build (the binaries exist)
#   JITSUIN_BUILD_DIR=DIR  where the binaries are (default ./build/enroll)
set -euo pipefail
cd "$(dirname "$0")"
home="${JITSUIN_HOME:-var}"
bin="${JITSUIN_BUILD_DIR:-build/enroll}"
if [ "${JITSUIN_SKIP_BUILD:-0}" != 1 ]; then
  scripts/deps.sh run
  scripts/build.sh
fi
jitsuin() { "$bin/jitsuin" --home "$home" "$@"; }
# First start: no CA yet -> create it (token, keys, certificates). Any other failure is shown as is.
if ! status=$(jitsuin ca show 2>&1); then
  if grep -q 'run: jitsuin ca init' <<<"$status"; then
    jitsuin ca init
  else
    echo "$status" >&2
    exit 1
  fi
fi
jitsuin ca show
jitsuin crl publish

# First start: no operator yet -> the first administrator, "admin", with a generated password that
# is temporary (the first login allows only the password change). Without a session the bootstrap
# is refused as soon as any operator exists, so later starts show nothing.
umask 077
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
password="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
printf '%s\n' "$password" >"$scratch/admin.pw"
if added=$(JITSUIN_SESSION_FILE="$scratch/none.session" jitsuin ra operator-add --name admin --role administrator \
             --temporary --password-file "$scratch/admin.pw" 2>&1); then
  first_admin=1
elif grep -q 'error (unauthenticated)' <<<"$added"; then
  first_admin=0
else
  echo "$added" >&2
  exit 1
fi
rm -rf "$scratch"
trap - EXIT

echo
echo "jitsuin: CA ready under $home; CRLs in $home/crl; the command line: $bin/jitsuin --home $home --help"
if [ "$first_admin" = 1 ]; then
  echo "jitsuin: first administrator: admin, temporary password (shown only now; set your own at the first login):"
  echo "    $password"
  echo "jitsuin:   $bin/jitsuin --home $home login --user admin && $bin/jitsuin --home $home ra passwd"
fi
echo "jitsuin: starting jitsuind (Ctrl-C or SIGTERM stops it); it prints its URLs and the root to trust"
exec "$bin/jitsuind" --home "$home" "$@"
