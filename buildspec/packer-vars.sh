#!/usr/bin/env bash
# Turns the build's environment into a Packer variable file (JSON on stdout), so the
# buildspec and `make ami` pass the same variables the same way. Empty values are left out
# and the template's defaults apply.
#
#   AWS_REGION (required)   -> region            SOURCE_AMI          -> source_ami
#   BUILD_ID                -> build_id          GIT_COMMIT          -> git_commit
#   PACKER_ASSETS_SHA256    -> packer_assets_sha256
#   AMI_NAME_PREFIX         -> ami_name_prefix   TIMEZONE            -> timezone
#   BUILD_INSTANCE_TYPE     -> instance_type     DATA_VOLUME_SIZE_GB -> data_volume_size_gb
#   BUILD_SUBNET_ID, BUILD_VPC_ID -> subnet_id, vpc_id (both or neither)
#   EBS_KMS_KEY_ID          -> kms_key_id        OS_RELEASE_VERSION  -> os_release_version
#   PIPELINE_STAGE          -> stage             ARCHITECTURE        -> architecture
# A build subnet means a private build: the instance gets no public address, Packer connects
# to its private IP (CodeBuild must then run in that VPC), and SSH is opened to the VPC's
# CIDR blocks, read with `aws ec2 describe-vpcs`, instead of the builder's public IP.
set -euo pipefail

die() {
  printf 'packer-vars.sh: error: %s\n' "$*" >&2
  exit 1
}

main() {
  local region="${AWS_REGION:-}"
  [[ -n "$region" ]] || die "AWS_REGION is not set"

  local size="${DATA_VOLUME_SIZE_GB:-}"
  [[ -z "$size" || "$size" =~ ^[1-9][0-9]*$ ]] || die "DATA_VOLUME_SIZE_GB '$size' is not a whole number of GiB"

  local subnet="${BUILD_SUBNET_ID:-}" vpc="${BUILD_VPC_ID:-}"
  if [[ -n "$subnet" && -z "$vpc" ]] || [[ -z "$subnet" && -n "$vpc" ]]; then
    die "set both BUILD_SUBNET_ID and BUILD_VPC_ID for a private build, or neither"
  fi

  local cidrs_json="[]"
  if [[ -n "$subnet" ]]; then
    local cidrs
    cidrs="$(aws ec2 describe-vpcs --region "$region" --vpc-ids "$vpc" \
      --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock' --output text)"
    cidrs_json="$(tr -s '[:space:]' '\n' <<<"$cidrs" | jq -R -s -c 'split("\n") | map(select(length > 0))')"
    [[ "$cidrs_json" != "[]" ]] || die "VPC $vpc has no IPv4 CIDR block"
  fi

  jq -n \
    --arg region "$region" \
    --arg source_ami "${SOURCE_AMI:-}" \
    --arg build_id "${BUILD_ID:-}" \
    --arg git_commit "${GIT_COMMIT:-}" \
    --arg packer_assets_sha256 "${PACKER_ASSETS_SHA256:-}" \
    --arg ami_name_prefix "${AMI_NAME_PREFIX:-}" \
    --arg timezone "${TIMEZONE:-}" \
    --arg instance_type "${BUILD_INSTANCE_TYPE:-}" \
    --arg data_volume_size_gb "$size" \
    --arg subnet_id "$subnet" \
    --arg vpc_id "$vpc" \
    --arg kms_key_id "${EBS_KMS_KEY_ID:-}" \
    --arg os_release_version "${OS_RELEASE_VERSION:-}" \
    --arg stage "${PIPELINE_STAGE:-}" \
    --arg architecture "${ARCHITECTURE:-}" \
    --argjson cidrs "$cidrs_json" '
      {
        region: $region,
        source_ami: $source_ami,
        build_id: $build_id,
        git_commit: $git_commit,
        packer_assets_sha256: $packer_assets_sha256,
        ami_name_prefix: $ami_name_prefix,
        timezone: $timezone,
        instance_type: $instance_type,
        data_volume_size_gb: (if $data_volume_size_gb == "" then "" else ($data_volume_size_gb | tonumber) end),
        subnet_id: $subnet_id,
        vpc_id: $vpc_id,
        kms_key_id: $kms_key_id,
        os_release_version: $os_release_version,
        architecture: $architecture,
        stage: $stage
      }
      | with_entries(select(.value != ""))
      + (if $subnet_id == "" then {} else
          {ssh_interface: "private_ip", temporary_security_group_source_cidrs: $cidrs} end)'
}

main "$@"
