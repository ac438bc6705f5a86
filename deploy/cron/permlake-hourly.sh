#!/usr/bin/env bash
# Hourly permlake run for cron: one run at a time (a lock), the last closed UTC hour, logs as
# JSON lines to a file, and the exit code kept for monitoring (0 ok, 1 nothing published,
# 2 configuration, 3 partial: the failed accounts are named in the log and the run manifest,
# 4 a data test failed, 130 interrupted).
#
# Three steps, each logged with its exit code:
#   1. permlake run --hour H --no-models               ingest the last closed hour
#   2. permlake models --shard i/N --now H+1, i=1..N    the per-account marts, a part at a time
#   3. permlake models --finalize --now H+1             organization-level marts, the warehouse,
#                                                       marts/_manifest.json
# The shards run one after another, not side by side: on one host they would compete for the
# same cores (DuckDB already uses every core within a process) while each needing its own state
# file and cache (DuckDB locks the state file, and a shard's scratch database lives in the cache)
# and each aggregating the lake's rollups into its own state. In sequence they share the
# configured state file and cache: the first shard brings the rollups up to date, the others
# find nothing new. What sharding buys here is a smaller peak memory per process (a quarter of
# the accounts at a time) and marts published shard by shard. PERMLAKE_SHARDS=1 builds every
# account in one process. To spread shards over machines, use deploy/airflow or
# deploy/kubernetes instead.
#
# Exit code: the first non-zero code of the steps. A step stops the script when nothing can be
# built on it: ingest exiting 1, 2 or 130; a shard exiting anything but 0 or 4; the final step
# failing. An ingest that is partial (3) still leads to the models (they run on what was
# committed), and a shard whose data test failed (4) has published its marts, so the final step
# still runs (it exits 1, naming them, if some account's marts are not up to date).
#
# Install (crontab -e), five minutes past each hour, when CloudTrail has delivered most files:
#   5 * * * * /opt/permlake/permlake-hourly.sh
# Environment (set in the crontab or /etc/default/permlake): PERMLAKE_CONFIG (default
# /etc/permlake/permlake.yaml), PERMLAKE_BIN (default permlake on PATH), PERMLAKE_LOG_DIR (default
# /var/log/permlake), PERMLAKE_LOCK (default /run/lock/permlake.lock), PERMLAKE_SHARDS (default 4).
# Credentials come from the SDK chains (instance role, AZURE_* variables for a workload
# identity), never from this script.
set -uo pipefail

[ -r /etc/default/permlake ] && . /etc/default/permlake
config=${PERMLAKE_CONFIG:-/etc/permlake/permlake.yaml}
bin=${PERMLAKE_BIN:-permlake}
logdir=${PERMLAKE_LOG_DIR:-/var/log/permlake}
lock=${PERMLAKE_LOCK:-/run/lock/permlake.lock}
shards=${PERMLAKE_SHARDS:-4}
mkdir -p "$logdir"

log() { echo "$(date -u +%FT%TZ) permlake: $*" >>"$logdir/permlake.log"; }

if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
  log "PERMLAKE_SHARDS=$shards: want a positive integer"
  exit 2
fi

# A run still going when the next hour starts (a long backfill) makes this one skip, not pile up:
# the next run picks up late files anyway (late_margin).
exec 9>"$lock"
if ! flock -n 9; then
  log "previous run still holds $lock; skipping this hour"
  exit 0
fi

# One clock reading for both: the hour collected and the analysis time after it (what
# `permlake run` passes to its models), even when the script starts at a minute to the hour.
epoch=$(date -u +%s)
hour=$(date -u -d "@$((epoch - 3600))" +%Y-%m-%dT%H)
now=$(date -u -d "@$epoch" +%Y-%m-%dT%H)

status=0
# step runs permlake with the arguments given and logs its exit code; its code is in $code.
step() {
  "$bin" "$@" >>"$logdir/permlake.out" 2>>"$logdir/permlake.log"
  code=$?
  log "$* exit $code"
  if [ "$status" -eq 0 ]; then status=$code; fi
}

step run --config "$config" --hour "$hour" --no-models
case $code in
  0 | 3) ;;
  *) exit "$status" ;;
esac

for ((i = 1; i <= shards; i++)); do
  step models --config "$config" --shard "$i/$shards" --now "$now"
  case $code in
    0 | 4) ;;
    *) exit "$status" ;;
  esac
done

step models --config "$config" --finalize --now "$now"
exit "$status"
