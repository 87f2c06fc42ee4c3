#!/usr/bin/env bash
# Lints the packaged pipeline templates (osls package output) with cfn-lint, all in one cfn-lint
# process: its start and the resource specification it loads cost more than a template. Any
# finding fails, warnings included, except W3005: Serverless adds a DependsOn on each function's
# role next to the Fn::GetAtt that already orders them; harmless, and not ours to remove.
# Usage: scripts/check-pipeline-template.sh TEMPLATE...
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 TEMPLATE... (the packaged cloudformation-template-update-stack.json files)" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-tools.sh" cfn-lint
cfn-lint --non-zero-exit-code informational --ignore-checks W3005 -- "$@"
echo "cfn-lint: $* clean"
