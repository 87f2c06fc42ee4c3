#!/usr/bin/env bats
# buildspec/packer-vars.sh: environment variables to a Packer variable file.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/buildspec/packer-vars.sh"

setup() {
  setup_stubs
  stub aws 'echo "10.20.0.0/16	10.30.0.0/16"'
}

vars() {
  env -i PATH="$PATH" STUB_LOG="$STUB_LOG" "$@" "$SCRIPT"
}

@test "maps every pipeline and project variable to its Packer variable" {
  run vars AWS_REGION=eu-west-1 SOURCE_AMI=ami-0abcdef1234567890 BUILD_ID=weekly-1 GIT_COMMIT=abc123 \
    PACKER_ASSETS_SHA256=ffff AMI_NAME_PREFIX=ecs-prod TIMEZONE=Europe/Berlin BUILD_INSTANCE_TYPE=m7g.large \
    DATA_VOLUME_SIZE_GB=50 EBS_KMS_KEY_ID=alias/ebs OS_RELEASE_VERSION=2023.9.20251110 PIPELINE_STAGE=prod \
    ARCHITECTURE=arm64
  [ "$status" -eq 0 ]
  diff -u - <(jq -S . <<<"$output") <<'EOF'
{
  "ami_name_prefix": "ecs-prod",
  "architecture": "arm64",
  "build_id": "weekly-1",
  "data_volume_size_gb": 50,
  "git_commit": "abc123",
  "instance_type": "m7g.large",
  "kms_key_id": "alias/ebs",
  "os_release_version": "2023.9.20251110",
  "packer_assets_sha256": "ffff",
  "region": "eu-west-1",
  "source_ami": "ami-0abcdef1234567890",
  "stage": "prod",
  "timezone": "Europe/Berlin"
}
EOF
}

@test "leaves empty optional variables out, so the template defaults apply" {
  run vars AWS_REGION=eu-west-1 SOURCE_AMI= TIMEZONE= EBS_KMS_KEY_ID= BUILD_SUBNET_ID= BUILD_VPC_ID= DATA_VOLUME_SIZE_GB= OS_RELEASE_VERSION= PIPELINE_STAGE= ARCHITECTURE=
  [ "$status" -eq 0 ]
  [ "$(jq -c . <<<"$output")" = '{"region":"eu-west-1"}' ]
  [ ! -s "$STUB_LOG" ]
}

@test "a private build connects by private IP and opens SSH to the VPC's CIDRs only" {
  run vars AWS_REGION=eu-west-1 BUILD_SUBNET_ID=subnet-0123456789abcdef0 BUILD_VPC_ID=vpc-0123456789abcdef0
  [ "$status" -eq 0 ]
  [ "$(jq -r .ssh_interface <<<"$output")" = "private_ip" ]
  [ "$(jq -c .temporary_security_group_source_cidrs <<<"$output")" = '["10.20.0.0/16","10.30.0.0/16"]' ]
  [ "$(jq -r .subnet_id <<<"$output")" = "subnet-0123456789abcdef0" ]
  grep -q '^aws ec2 describe-vpcs --region eu-west-1 --vpc-ids vpc-0123456789abcdef0 ' "$STUB_LOG"
}

@test "refuses a subnet without its VPC" {
  run vars AWS_REGION=eu-west-1 BUILD_SUBNET_ID=subnet-0123456789abcdef0
  [ "$status" -ne 0 ]
  [[ "$output" == *"both BUILD_SUBNET_ID and BUILD_VPC_ID"* ]]
}

@test "refuses a data volume size that is not a whole number" {
  run vars AWS_REGION=eu-west-1 DATA_VOLUME_SIZE_GB=20GB
  [ "$status" -ne 0 ]
  [[ "$output" == *"DATA_VOLUME_SIZE_GB"* ]]
}

@test "needs a region" {
  run vars SOURCE_AMI=ami-0abcdef1234567890
  [ "$status" -ne 0 ]
  [[ "$output" == *"AWS_REGION is not set"* ]]
}
