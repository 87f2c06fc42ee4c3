#!/usr/bin/env bash
# Offline checks of the Packer template (`make lint-packer`):
#   1. `packer fmt -check -diff` on every file of packer/;
#   2. `packer validate -syntax-only` with representative variables (a public and a private
#      build, produced by buildspec/packer-vars.sh like in CodeBuild);
#   3. the security settings are still there (IMDSv2, encrypted volumes, restricted SSH,
#      the build instance's ECS agent masked, pinned plugin, no credential variables).
# The Debian Packer 1.6.6 used here rejects the `packer { required_plugins }` block, so the
# template is validated from a temporary copy without packer/plugins.pkr.hcl. It also predates
# fields such as metadata_options, hence -syntax-only: the full `packer validate` runs in
# CodeBuild with the pinned release (buildspec/bake-ami.yml). Never remove a setting to please
# the old validator; step 3 fails if one goes missing.
set -euo pipefail

cd "$(dirname "$0")/.."

die() {
  printf 'check-packer.sh: error: %s\n' "$*" >&2
  exit 1
}

require_line() {
  local file="$1" pattern="$2" why="$3"
  grep -Eq "$pattern" "$file" || die "$file: missing $why (expected a line matching: $pattern)"
}

check_format() {
  packer fmt -check -diff packer/ || die "packer/ is not formatted: run 'packer fmt packer/'"
  echo "check-packer.sh: packer fmt: ok"
}

check_syntax() {
  local work="$WORK"
  mkdir -p "$work/template"
  find packer -maxdepth 1 -name '*.pkr.hcl' ! -name plugins.pkr.hcl -exec cp {} "$work/template/" \;

  env -i PATH="$PATH" AWS_REGION=us-east-1 SOURCE_AMI=ami-0123456789abcdef0 \
    BUILD_ID=check-packer GIT_COMMIT=0000000000000000000000000000000000000000 \
    PACKER_ASSETS_SHA256="$(printf '0%.0s' {1..64})" AMI_NAME_PREFIX=ecs-ami-pipeline-check \
    TIMEZONE=Europe/Berlin BUILD_INSTANCE_TYPE=t3.large DATA_VOLUME_SIZE_GB=50 \
    EBS_KMS_KEY_ID=alias/ecs-ami-pipeline \
    buildspec/packer-vars.sh >"$work/public.pkrvars.json"
  jq -n '{region: "eu-west-1", subnet_id: "subnet-0123456789abcdef0", vpc_id: "vpc-0123456789abcdef0",
          ssh_interface: "private_ip", temporary_security_group_source_cidrs: ["10.0.0.0/16"],
          architecture: "arm64", instance_type: "t4g.medium"}' \
    >"$work/private.pkrvars.json"

  local vars output
  for vars in public private; do
    output="$(packer validate -syntax-only -var-file="$work/$vars.pkrvars.json" "$work/template" 2>&1)" ||
      die "packer validate -syntax-only failed with the $vars build variables:"$'\n'"$output"
    # packer-vars.sh must only set variables the template declares.
    if grep -q 'Undefined variable' <<<"$output"; then
      die "the $vars build variables set a variable packer/variables.pkr.hcl does not declare:"$'\n'"$output"
    fi
  done
  echo "check-packer.sh: packer validate -syntax-only (public and private build variables): ok"
}

check_security_settings() {
  local template=packer/ecs-ami.pkr.hcl plugins=packer/plugins.pkr.hcl
  require_line "$template" '^[[:space:]]*http_tokens[[:space:]]*=[[:space:]]*"required"' "IMDSv2 on the build instance"
  require_line "$template" '^[[:space:]]*imds_support[[:space:]]*=[[:space:]]*"v2\.0"' "IMDSv2 on instances launched from the AMI"
  require_line "$template" '^[[:space:]]*temporary_security_group_source_public_ip[[:space:]]*=[[:space:]]*true' "SSH restricted to the builder's IP"
  require_line "$template" '^[[:space:]]*snapshot_tags[[:space:]]*=[[:space:]]*local\.image_tags' "tags on the AMI's snapshots"
  require_line "$template" '^[[:space:]]*tags[[:space:]]*=[[:space:]]*local\.image_tags' "tags on the AMI"
  require_line "$template" '^[[:space:]]*type[[:space:]]*=[[:space:]]*"manifest"|post-processor "manifest"' "the manifest post-processor"
  require_line "$template" '^[[:space:]]*user_data[[:space:]]*=[[:space:]]*local\.build_user_data$' "the build's user data (it masks the ECS agent)"
  require_line "$template" '^[[:space:]]*-[[:space:]]*\[systemctl, mask, --runtime, ecs\.service\]$' "the ECS agent's mask on the build instance, so it joins no cluster"
  local encrypted mappings
  encrypted="$(grep -Ec '^[[:space:]]*encrypted[[:space:]]*=[[:space:]]*true' "$template" || true)"
  mappings="$(grep -Ec '^[[:space:]]*launch_block_device_mappings[[:space:]]*\{' "$template" || true)"
  ((mappings == 2 && encrypted == mappings)) ||
    die "$template: every launch_block_device_mappings block must set encrypted = true ($encrypted of $mappings do)"
  # Not `grep | grep -q`: with pipefail, the early exit of grep -q can fail the pipeline.
  local uncommented
  uncommented="$(grep -Ev '^[[:space:]]*#' "$template")"
  if grep -Eq '0\.0\.0\.0/0|::/0' <<<"$uncommented"; then
    die "$template: opens something to the whole internet"
  fi
  ! grep -Eiq '^[[:space:]]*(access_key|secret_key|token)[[:space:]]*=|variable "[^"]*(access_key|secret|session_token|password)[^"]*"' packer/*.pkr.hcl ||
    die "packer/: credentials must come from the environment, not from template variables"
  require_line "$plugins" '^[[:space:]]*version[[:space:]]*=[[:space:]]*"= [0-9]+\.[0-9]+\.[0-9]+"' "an exactly pinned amazon plugin version"
  echo "check-packer.sh: security settings: ok"
}

main() {
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  scripts/ensure-tools.sh packer jq
  check_format
  check_syntax
  check_security_settings
}

main "$@"
