#!/usr/bin/env bash
# Reads the AMI that the last `packer build` produced from Packer's manifest and prints it as
# shell assignments for the buildspec (and scripts/bake-ami-locally.sh) to source:
#   export AMI_ID=ami-...        export AMI_REGION=us-east-1        export SOURCE_AMI_ID=ami-...
# The manifest accumulates one entry per build and run; only the entry of last_run_uuid
# counts, so a stale AMI from an earlier run is never reported as the new one. Anything
# unexpected fails with a message saying what is missing.
#
# Usage: read-manifest.sh MANIFEST [REGION]
#   REGION picks the AMI when the artifact lists several regions (default: AWS_REGION, else
#   the first one listed).
set -euo pipefail

# AWS_REGION_PATTERN of functions/lib/contracts/index.ts, character for character (a test compares).
readonly REGION_PATTERN='^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$'

die() {
  printf 'read-manifest.sh: error: %s\n' "$*" >&2
  exit 1
}

main() {
  local manifest="${1:-}" region="${2:-${AWS_REGION:-}}"
  [[ -n "$manifest" ]] || die "usage: read-manifest.sh MANIFEST [REGION]"
  [[ -s "$manifest" ]] || die "no Packer manifest at $manifest (missing or empty): packer build did not produce an AMI"
  jq -e 'type == "object"' "$manifest" >/dev/null 2>&1 || die "$manifest is not a JSON object"

  local run build
  run="$(jq -r '.last_run_uuid // empty' "$manifest")"
  [[ -n "$run" ]] || die "$manifest has no last_run_uuid: packer build did not finish"
  build="$(jq -c --arg run "$run" '[.builds[]? | select(.packer_run_uuid == $run)] | last // empty' "$manifest")"
  [[ -n "$build" ]] || die "$manifest has no build for the last run $run: packer build did not produce an AMI"

  local artifact_id entry="" candidate
  artifact_id="$(jq -r '.artifact_id // empty' <<<"$build")"
  [[ -n "$artifact_id" ]] || die "the build of run $run has an empty artifact_id: no AMI was created"
  # An artifact lists region:ami pairs separated by commas (several with ami_regions).
  local -a entries
  IFS=',' read -r -a entries <<<"$artifact_id"
  for candidate in "${entries[@]}"; do
    if [[ -z "$region" || "${candidate%%:*}" == "$region" ]]; then
      entry="$candidate"
      break
    fi
  done
  [[ -n "$entry" ]] || die "artifact_id '$artifact_id' has no AMI in region $region"

  local ami_region="${entry%%:*}" ami_id="${entry#*:}"
  [[ "$entry" == *:* && "$ami_region" =~ $REGION_PATTERN && "$ami_id" =~ ^ami-[0-9a-f]{8,17}$ ]] ||
    die "artifact_id '$artifact_id' does not name an AMI as region:ami-id"

  local source_ami
  source_ami="$(jq -r '.custom_data.source_ami_id // empty' <<<"$build")"
  [[ "$source_ami" =~ ^ami-[0-9a-f]{8,17}$ ]] ||
    die "the build of run $run has no custom_data.source_ami_id (got '${source_ami}'); is the manifest from packer/ecs-ami.pkr.hcl?"

  printf 'export AMI_ID=%s\n' "$ami_id"
  printf 'export AMI_REGION=%s\n' "$ami_region"
  printf 'export SOURCE_AMI_ID=%s\n' "$source_ami"
}

main "$@"
