#!/usr/bin/env bash
# The systemd units and the crontab in the repository (CTest: deploy_units): config/systemd/*.service
# and *.timer pass `systemd-analyze verify` (paths pointed at the build and a temp home), carry
# the hardening and schedules README promises, and every ExecStart command and every crontab
# command runs successfully against a temp home with the built binaries (jitsuind's until SIGTERM,
# its KillSignal, stops it with exit 0). README's cron block is the crontab's.
# Usage: tests/enroll/units_test.sh PATH/TO/jitsuin PATH/TO/jitsuind [SOURCE_DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh" deploy_units "$@"
bindir="$BINDIR"
[ "$bindir" = "$(dirname "$JITSUIND")" ] || fail "jitsuin and jitsuind in different folders"
show_on_failure=(server.err)
units="$SOURCE_DIR/config/systemd"
crontab="$SOURCE_DIR/config/cron/jitsuin.crontab"
home="$work/home"
# The installed paths (README "Running it", under systemd) pointed at this build and the temp home.
localize() { sed -e "s#/opt/jitsuin/build/enroll#$bindir#g" -e "s#/var/lib/jitsuin#$home#g" -e "s#/opt/jitsuin#$SOURCE_DIR#g" "$@"; }

# A home as README installs it: jitsuin.json and the profiles copied in (free ports here), a CA.
mkdir -p "$home"
cp "$SOURCE_DIR/config/jitsuin.json" "$home/jitsuin.json"
cp -r "$SOURCE_DIR/config/profiles" "$home/"
/usr/bin/python3 - "$home/jitsuin.json" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))
c["server"].update(listen="127.0.0.1:0", http_listen="127.0.0.1:0")
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF2
"$JITSUIN" --home "$home" ca init >/dev/null

# systemd-analyze verify: syntax, known options, executables that exist, each timer's service.
mkdir units
for f in "$units"/*.service "$units"/*.timer; do localize "$f" >"units/$(basename "$f")"; done
out="$(systemd-analyze verify --man=no units/*.service units/*.timer 2>&1)" || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
check "systemd-analyze verify: $(ls units | tr '\n' ' ')"

key() { sed -n "s/^$2=//p" "$units/$1"; }   # key UNIT KEY: the value(s) of KEY
s=jitsuind.service
for want in Type=simple User=jitsuin WorkingDirectory=/var/lib/jitsuin NoNewPrivileges=yes ProtectSystem=strict \
            ReadWritePaths=/var/lib/jitsuin PrivateTmp=yes Restart=on-failure KillSignal=SIGTERM LimitNOFILE=65536; do
  [ "$(key $s "${want%%=*}")" = "${want#*=}" ] || fail "$s: $want expected, found '$(key $s "${want%%=*}")'"
done
[[ "$(key $s ExecStart)" == "/opt/jitsuin/build/enroll/jitsuind --home /var/lib/jitsuin" ]] || fail "$s: ExecStart"
for t in crl-publish:hourly outbox-deliver:minutely "crl-fetch:*-*-* *:05:00" "notify-expiring:*-*-* 06:30:00" \
         "mail-expire-holds:*-*-* 06:45:00"; do
  name="jitsuin-${t%%:*}"
  [ "$(key "$name.timer" OnCalendar)" = "${t#*:}" ] || fail "$name.timer: OnCalendar is not ${t#*:}"
  [ "$(key "$name.service" Type)" = oneshot ] || fail "$name.service is not oneshot"
  [ "$(key "$name.service" ProtectSystem)" = strict ] || fail "$name.service: ProtectSystem"
done
check "jitsuind.service hardening and restart; timers hourly (CRLs published, partner CRLs fetched), every minute, daily"

# Every ExecStart runs: the timers' services to completion, jitsuind until its KillSignal.
for f in units/jitsuin-*.service; do
  cmd="$(sed -n 's/^ExecStart=//p' "$f")"
  eval "$cmd" >run.out 2>&1 || fail "$(basename "$f"): '$cmd' failed: $(cat run.out)"
done
check "each timer service's ExecStart runs successfully"
read -r -a argv <<<"$(sed -n 's/^ExecStart=//p' units/jitsuind.service)"
"${argv[@]}" >server.out 2>server.err &
pid=$!
pids[server]=$pid
line="$(wait_served "$pid" server.out)"
[[ "$line" =~ https=(127\.0\.0\.1:[0-9]+) ]] || fail "no https address: $line"
[ "$(curl -sS --cacert "$home/server/root.pem" -o /dev/null -w '%{http_code}' "https://${BASH_REMATCH[1]}/ready")" = 200 ] ||
  fail "jitsuind.service's server is not ready"
sig="$(key jitsuind.service KillSignal)"
stop_served "$pid" server.err "${sig#SIG}"
check "jitsuind.service's ExecStart serves and stops on its KillSignal with exit 0"

# Every crontab line runs, with the schedule README promises.
n=0
while read -r m h dom mon dow cmd; do
  case "$cmd" in
    *" crl publish") [ "$m $h" = "0 *" ] || fail "crl publish is not hourly" ;;
    *" outbox deliver") [ "$m $h" = "* *" ] || fail "outbox deliver is not every minute" ;;
    *" crl fetch") [[ "$m $h" =~ ^[0-9]+\ \*$ ]] || fail "crl fetch (partner CRLs) is not hourly" ;;
    *" ra notify-expiring"|*" ra mail-expire-holds") [[ "$m $h" =~ ^[0-9]+\ [0-9]+$ ]] || fail "$cmd is not daily" ;;
    *) fail "unknown crontab command: $cmd" ;;
  esac
  [ "$dom $mon $dow" = "* * *" ] || fail "$cmd: day fields"
  local_cmd="$(localize <<<"$cmd")"
  eval "$local_cmd" >run.out 2>&1 || fail "crontab: '$local_cmd' failed: $(cat run.out)"
  n=$((n + 1))
done < <(grep -v '^#' "$crontab" | grep -v '^$')
[ "$n" = 5 ] || fail "the crontab has $n jobs, not 5"
check "each of the $n crontab commands runs successfully"

# README's cron block (### Cron) is the crontab's jobs, in the same order.
readme_jobs="$(awk '/^### Cron/{c=1} c&&/^```/{n++; next} c&&n==1' "$SOURCE_DIR/README.md" | grep -v '^#')"
[ "$readme_jobs" = "$(grep -v '^#' "$crontab" | grep -v '^$')" ] || fail "README's cron block differs from $crontab"
check "README's cron block is config/cron/jitsuin.crontab"
echo "deploy_units: all checks passed"
