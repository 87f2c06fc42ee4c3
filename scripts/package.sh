#!/usr/bin/env bash
# Packages the pipeline for a stage, offline (osls package), and lints the template with cfn-lint.
# A bad stage param fails with one line naming it, instead of osls's report of every variable that
# read it (deploy/param-error.js makes those errors one line each; this keeps each distinct one once).
# Usage: scripts/package.sh STAGE [osls options...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stage="${1:?usage: scripts/package.sh STAGE [osls options...]}"
shift

output="$(mktemp)"
trap 'rm -f "$output"' EXIT

status=0
SLS_TELEMETRY_DISABLED=1 "$root/node_modules/.bin/osls" package --stage "$stage" "$@" >"$output" 2>&1 || status=$?
if ((status != 0)); then
  params="$(grep -o 'Received rejection: serverless\.yml params\..*' "$output" | sed -E 's/^Received rejection: //; s/,?[[:space:]]*$//' | sort -u || true)"
  if [[ -n "$params" ]]; then
    while IFS= read -r line; do
      echo "error: ${line//<stage>/$stage}" >&2
    done <<<"$params"
  else
    cat "$output" >&2
  fi
  exit "$status"
fi
cat "$output"
"$root/scripts/ensure-tools.sh" cfn-lint
cfn-lint --ignore-checks W3005 -- "$root/.serverless/cloudformation-template-update-stack.json"
