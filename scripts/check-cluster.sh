#!/usr/bin/env bash
# Lints the reference ECS cluster template with cfn-lint (the Python linter that tracks the
# CloudFormation resource specification). Any finding fails, warnings included.
# Usage: scripts/check-cluster.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-tools.sh" cfn-lint
cfn-lint --non-zero-exit-code informational -- "$root/cluster/ecs-cluster.yml"
echo "cfn-lint: cluster/ecs-cluster.yml is clean"
