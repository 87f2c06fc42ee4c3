#!/usr/bin/env bash
# Prints the wall time of `make demo` for each scenario on this machine (the README quotes the
# figures; the goal is under 60 s each). A measurement, not a test: nothing fails on the number.
# Dependencies are installed first so that npm ci is not part of the figure.
# Usage: scripts/measure-demo.sh [SCENARIO...]
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory deps >/dev/null

scenarios=("$@")
if ((${#scenarios[@]} == 0)); then
  # Every scenario the demo knows (SCENARIOS in local/world.ts), so a new one is measured too.
  mapfile -t scenarios < <(node_modules/.bin/tsx -e 'import { SCENARIOS } from "./local/world"; console.log(SCENARIOS.join("\n"))')
fi
printf 'make demo wall time on %s (%s CPU cores)\n' "$(uname -n)" "$(nproc)"
for scenario in "${scenarios[@]}"; do
  start=$(date +%s.%N)
  status=0
  make --no-print-directory demo SCENARIO="$scenario" >/dev/null 2>&1 || status=$?
  end=$(date +%s.%N)
  awk -v s="$scenario" -v a="$start" -v b="$end" -v c="$status" 'BEGIN { printf "  %-22s %6.1f s  (exit %d)\n", s, b - a, c }'
done
