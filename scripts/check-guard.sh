#!/usr/bin/env bash
# Checks CloudFormation templates against AWS Control Tower's proactive controls: the cfn-guard
# rules and the cfn-guard binary that the npm package @cdklabs/cdk-validator-cfnguard ships.
# Fails on any rule failure that guard/exceptions.yml does not list, and on any listed exception
# that no longer fails (scripts/check-guard.mjs compares).
# Usage: scripts/check-guard.sh NAME=TEMPLATE...
#   NAME is how guard/exceptions.yml calls the template, e.g. cluster=cluster/ecs-cluster.yml
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="$root/node_modules/@cdklabs/cdk-validator-cfnguard"
rules="$package/rules/control-tower/cfn-guard"

if (($# == 0)); then
  echo "usage: scripts/check-guard.sh NAME=TEMPLATE..." >&2
  exit 2
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) platform=ubuntu/x86_64 ;;
  Linux/aarch64 | Linux/arm64) platform=ubuntu/aarch64 ;;
  Darwin/x86_64) platform=macos/x86_64 ;;
  Darwin/arm64) platform=macos/aarch64 ;;
  *)
    echo "error: the cfn-guard package ships no binary for $(uname -s)/$(uname -m)" >&2
    exit 2
    ;;
esac
guard="$package/bin/$platform/cfn-guard"
if [[ ! -x "$guard" || ! -d "$rules" ]]; then
  echo "error: $guard or its rules are missing; run npm ci" >&2
  exit 2
fi

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
cache="${GUARD_CACHE_DIR:-$root/.build/guard-verdicts}"

# cfn-guard takes several seconds per template: check them all at once.
pairs=()
pids=()
for pair in "$@"; do
  name="${pair%%=*}"
  template="${pair#*=}"
  if [[ "$pair" != *=* || ! "$name" =~ ^[a-z0-9-]+$ || ! -f "$template" ]]; then
    echo "error: expected NAME=TEMPLATE with an existing template file, got: $pair" >&2
    exit 2
  fi
  # Only the controls that apply to the template's resource types: every rule file names the types
  # it checks, and loading all ~240 for every template costs seconds apiece.
  applicable="$reports/$name.rules"
  mkdir -p "$applicable"
  grep -oE 'AWS::[A-Za-z0-9]+::[A-Za-z0-9]+' "$template" | sort -u >"$reports/$name.types"
  while IFS= read -r rule; do
    ln -s "$rule" "$applicable/$(basename "$rule")"
  done < <(grep -rlF -f "$reports/$name.types" --include='*.guard' "$rules" || true)
  # cfn-guard's verdict depends only on the template, the rules and the binary: a verdict reached
  # for exactly these is reused (a second `make test` re-checks nothing that did not change).
  digest="$(cat "$guard" "$template" "$applicable"/* | sha256sum | cut -d' ' -f1)"
  cached="$cache/$digest"
  if [[ -f "$cached.status" && -f "$cached.txt" ]]; then
    cp "$cached.txt" "$reports/$name.txt"
    cp "$cached.status" "$reports/$name.status"
    : >"$reports/$name.err"
    pairs+=("$name=$reports/$name.txt")
    continue
  fi
  (
    status=0
    "$guard" validate --rules "$applicable" --data "$template" --show-summary fail --output-format single-line-summary \
      >"$reports/$name.txt" 2>"$reports/$name.err" || status=$?
    echo "$status" >"$reports/$name.status"
    # Only a verdict (0: nothing failed, 19: the report says what did) is kept.
    if ((status == 0 || status == 19)); then
      mkdir -p "$cache"
      cp "$reports/$name.txt" "$cached.txt.$$" && mv "$cached.txt.$$" "$cached.txt"
      cp "$reports/$name.status" "$cached.status.$$" && mv "$cached.status.$$" "$cached.status"
    fi
  ) &
  pids+=("$!")
  pairs+=("$name=$reports/$name.txt")
done
(("${#pids[@]}" == 0)) || wait "${pids[@]}"
for pair in "$@"; do
  name="${pair%%=*}"
  status="$(cat "$reports/$name.status")"
  # 0: no rule failed; 19: some rule failed (the report says which); anything else: no verdict.
  if ((status != 0 && status != 19)); then
    echo "error: cfn-guard could not check ${pair#*=} (exit status $status):" >&2
    cat "$reports/$name.err" >&2
    exit 2
  fi
done

status=0
node "$root/scripts/check-guard.mjs" "$root/guard/exceptions.yml" "${pairs[@]}" || status=$?
if ((status == 1)); then
  echo "Details of a failure: $guard validate -r $rules -d TEMPLATE --show-summary fail" >&2
fi
exit "$status"
