#!/usr/bin/env bash
# Hourly permlake run for cron: one run at a time (a lock), the last closed UTC hour, logs as
# JSON lines to a file, and the exit code kept for monitoring (0 ok, 1 nothing published,
# 2 configuration, 3 partial: the failed accounts are named in the log and the run manifest,
# 4 a data test failed, 130 interrupted).
#
# Install (crontab -e), five minutes past each hour, when CloudTrail has delivered most files:
#   5 * * * * /opt/permlake/permlake-hourly.sh
# Environment (set in the crontab or /etc/default/permlake): PERMLAKE_CONFIG (default
# /etc/permlake/permlake.yaml), PERMLAKE_BIN (default permlake on PATH), PERMLAKE_LOG_DIR (default
# /var/log/permlake), PERMLAKE_LOCK (default /run/lock/permlake.lock). Credentials come from the
# SDK chains (instance role, AZURE_* variables for a workload identity), never from this script.
set -uo pipefail

[ -r /etc/default/permlake ] && . /etc/default/permlake
config=${PERMLAKE_CONFIG:-/etc/permlake/permlake.yaml}
bin=${PERMLAKE_BIN:-permlake}
logdir=${PERMLAKE_LOG_DIR:-/var/log/permlake}
lock=${PERMLAKE_LOCK:-/run/lock/permlake.lock}
mkdir -p "$logdir"

# A run still going when the next hour starts (a long backfill) makes this one skip, not pile up:
# the next run picks up late files anyway (late_margin).
exec 9>"$lock"
if ! flock -n 9; then
  echo "$(date -u +%FT%TZ) permlake: previous run still holds $lock; skipping this hour" >>"$logdir/permlake.log"
  exit 0
fi

hour=$(date -u -d '1 hour ago' +%Y-%m-%dT%H)
"$bin" run --config "$config" --hour "$hour" >>"$logdir/permlake.out" 2>>"$logdir/permlake.log"
code=$?
echo "$(date -u +%FT%TZ) permlake run --hour $hour exit $code" >>"$logdir/permlake.log"
exit $code
