#!/usr/bin/env bash
# Grant the permlake collector what it reads, and nothing more:
#   - Reader on each subscription (role definitions and assignments, provider operations: all */read);
#   - Storage Blob Data Reader on the storage account that holds the diagnostic-settings exports;
#   - Microsoft Graph application permissions Directory.Read.All (users, groups, transitive
#     members, service principals) and AuditLog.Read.All (users' signInActivity), with admin consent.
# It creates the app registration and service principal when --app-id is not given, prints the
# IDs to put in permlake.yaml, and never prints or stores a secret (create a certificate or a
# federated credential for the app yourself, or run permlake under a managed identity and pass its
# object ID with --object-id).
#
# Usage:
#   setup-collector.sh --subscriptions "SUB1 SUB2" --storage-account-id /subscriptions/…/storageAccounts/NAME \
#       [--app-name permlake-collector | --app-id APP_ID | --object-id MANAGED_IDENTITY_OBJECT_ID] [--dry-run]
set -euo pipefail

# run runs a change; query runs a read and prints its result. With --dry-run both only print the
# command (on stderr), and query yields a placeholder named after what it looks up.
run() { if [ -n "$dry" ]; then echo "+ $*" >&2; else "$@"; fi; }
query() { local name=$1; shift; if [ -n "$dry" ]; then echo "+ $*" >&2; echo "<$name>"; else "$@"; fi; }

app_name=permlake-collector app_id="" object_id="" subscriptions="" storage="" dry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --app-name) app_name=$2; shift 2 ;;
    --app-id) app_id=$2; shift 2 ;;
    --object-id) object_id=$2; shift 2 ;;
    --subscriptions) subscriptions=$2; shift 2 ;;
    --storage-account-id) storage=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$subscriptions" ] || { echo "--subscriptions is required" >&2; exit 2; }

uuid='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
for s in $subscriptions; do
  [[ $s =~ $uuid ]] || { echo "subscription ID $s is not a UUID" >&2; exit 2; }
done

# Microsoft Graph's well-known application ID; its app roles are looked up by name, not pinned IDs.
graph=00000003-0000-0000-c000-000000000000
graph_permissions="Directory.Read.All AuditLog.Read.All"
reader=acdd72a7-3385-48ef-bd42-f606fba81ae7          # Reader
blob_reader=2a2b9908-6ea1-4ae2-8e65-a410df84e7d1     # Storage Blob Data Reader

if [ -z "$object_id" ]; then
  if [ -z "$app_id" ]; then
    app_id=$(query app-id az ad app create --display-name "$app_name" --sign-in-audience AzureADMyOrg --query appId -o tsv)
  fi
  object_id=$(query object-id az ad sp create --id "$app_id" --query id -o tsv || query object-id az ad sp show --id "$app_id" --query id -o tsv)
fi

for s in $subscriptions; do
  run az role assignment create --assignee-object-id "$object_id" --assignee-principal-type ServicePrincipal \
    --role "$reader" --scope "/subscriptions/$s"
done
if [ -n "$storage" ]; then
  run az role assignment create --assignee-object-id "$object_id" --assignee-principal-type ServicePrincipal \
    --role "$blob_reader" --scope "$storage"
fi

# Graph application permissions: an app role assignment on the Graph service principal (this works
# for app registrations and managed identities alike), which is the admin consent.
graph_sp=$(query graph-sp az ad sp show --id "$graph" --query id -o tsv)
for p in $graph_permissions; do
  role=$(query "$p-app-role" az ad sp show --id "$graph" --query "appRoles[?value=='$p'].id | [0]" -o tsv)
  run az rest --method post --url "https://graph.microsoft.com/v1.0/servicePrincipals/$object_id/appRoleAssignments" \
    --body "{\"principalId\":\"$object_id\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$role\"}"
done

echo "collector service principal object ID: $object_id"
[ -n "$app_id" ] && echo "application (client) ID: $app_id"
