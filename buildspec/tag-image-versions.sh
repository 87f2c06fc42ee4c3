#!/usr/bin/env bash
# Sets the EcsAgentVersion, DockerVersion and OsRelease tags (AMI_TAGS in functions/lib/contracts/index.ts) on
# the new AMI and on each of its snapshots, from the image-versions.json that
# packer/scripts/versions.sh wrote on the build instance. Packer can only tag with values
# known before the build, so the template tags them "pending" and this step replaces them;
# if it fails, the build fails and the pipeline does not record the image.
#
# Usage: tag-image-versions.sh AMI_ID REGION VERSIONS_FILE
# Uses the AWS CLI with the credentials of the environment (CodeBuild role or AWS profile).
set -euo pipefail

readonly VERSION_PATTERN='^[0-9A-Za-z._+~-]{1,128}$'

die() {
  printf 'tag-image-versions.sh: error: %s\n' "$*" >&2
  exit 1
}

main() {
  local ami_id="${1:-}" region="${2:-}" versions_file="${3:-}"
  [[ -n "$ami_id" && -n "$region" && -n "$versions_file" ]] ||
    die "usage: tag-image-versions.sh AMI_ID REGION VERSIONS_FILE"
  [[ "$ami_id" =~ ^ami-[0-9a-f]{8,17}$ ]] || die "'$ami_id' is not an AMI id"
  [[ -s "$versions_file" ]] || die "no versions file at $versions_file: did the versions provisioner run?"

  local ecs_agent docker os_release
  ecs_agent="$(jq -r '.ecs_agent_version // empty' "$versions_file")" || die "$versions_file is not valid JSON"
  docker="$(jq -r '.docker_version // empty' "$versions_file")"
  os_release="$(jq -r '.os_release_version // empty' "$versions_file")"
  [[ "$ecs_agent" =~ $VERSION_PATTERN ]] || die "$versions_file has no usable ecs_agent_version (got '$ecs_agent')"
  [[ "$docker" =~ $VERSION_PATTERN ]] || die "$versions_file has no usable docker_version (got '$docker')"
  [[ "$os_release" =~ $VERSION_PATTERN ]] || die "$versions_file has no usable os_release_version (got '$os_release')"

  local snapshots
  snapshots="$(aws ec2 describe-images --region "$region" --image-ids "$ami_id" \
    --query 'Images[0].BlockDeviceMappings[].Ebs.SnapshotId' --output text)"
  local -a snapshot_ids=() resources=("$ami_id")
  read -r -a snapshot_ids <<<"$snapshots"
  local snapshot
  for snapshot in "${snapshot_ids[@]}"; do
    [[ "$snapshot" =~ ^snap-[0-9a-f]{8,17}$ ]] || die "describe-images returned '$snapshot' as a snapshot of $ami_id"
    resources+=("$snapshot")
  done
  ((${#resources[@]} > 1)) || die "$ami_id has no EBS snapshots to tag"

  aws ec2 create-tags --region "$region" --resources "${resources[@]}" \
    --tags "Key=EcsAgentVersion,Value=${ecs_agent}" "Key=DockerVersion,Value=${docker}" "Key=OsRelease,Value=${os_release}"
  printf 'tag-image-versions.sh: tagged %s with EcsAgentVersion=%s DockerVersion=%s OsRelease=%s\n' \
    "${resources[*]}" "$ecs_agent" "$docker" "$os_release"
}

main "$@"
