#!/usr/bin/env bash
# Export what permlake reads into one storage account, in the layout it expects:
#   - each subscription's Activity Log (every category) → container insights-activity-logs,
#     resourceId=/SUBSCRIPTIONS/<SUB>/y=…/m=…/d=…/h=…/m=00/PT1H.json;
#   - the tenant's Entra ID sign-in and audit logs → insights-logs-<category>/tenantId=<tid>/…
#     (exporting sign-in logs needs an Entra ID P1 or P2 licence).
# Keep the storage account's lifecycle rule at 90 days or more: the look-back window is 90 days.
#
# Usage: diagnostic-settings.sh --storage-account-id /subscriptions/…/storageAccounts/NAME --subscriptions "SUB1 SUB2" [--dry-run]
set -euo pipefail

# run runs a change; query runs a read and prints its result. With --dry-run both only print the
# command (on stderr), and query yields a placeholder named after what it looks up.
run() { if [ -n "$dry" ]; then echo "+ $*" >&2; else "$@"; fi; }
query() { local name=$1; shift; if [ -n "$dry" ]; then echo "+ $*" >&2; echo "<$name>"; else "$@"; fi; }

storage="" subscriptions="" dry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --storage-account-id) storage=$2; shift 2 ;;
    --subscriptions) subscriptions=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$storage" ] && [ -n "$subscriptions" ] || { echo "--storage-account-id and --subscriptions are required" >&2; exit 2; }

activity='[{"category":"Administrative","enabled":true},{"category":"Security","enabled":true},{"category":"Policy","enabled":true},{"category":"Alert","enabled":true},{"category":"Recommendation","enabled":true},{"category":"ServiceHealth","enabled":true},{"category":"Autoscale","enabled":true},{"category":"ResourceHealth","enabled":true}]'
for s in $subscriptions; do
  run az monitor diagnostic-settings subscription create --subscription "$s" --name permlake \
    --storage-account "$storage" --logs "$activity"
done

entra='{"properties":{"storageAccountId":"'"$storage"'","logs":[{"category":"SignInLogs","enabled":true},{"category":"NonInteractiveUserSignInLogs","enabled":true},{"category":"ServicePrincipalSignInLogs","enabled":true},{"category":"ManagedIdentitySignInLogs","enabled":true},{"category":"AuditLogs","enabled":true}]}}'
run az rest --method put \
  --url "https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings/permlake?api-version=2017-04-01-preview" \
  --body "$entra"
