#!/usr/bin/env bash
# Bakes the ECS container-instance AMI from a laptop (`make ami`), with the same template,
# variable mapping, manifest parsing and version tagging as the CodeBuild buildspec.
#
# Credentials: whatever the AWS SDK finds, normally AWS_PROFILE. A profile with role_arn +
# source_profile, SSO or credential_process is resolved by the SDK inside Packer and the AWS
# CLI; nothing here assumes roles or exports keys.
#
# Base image: like the pipeline, the AMI AWS's `recommended` parameter names for ARCHITECTURE
# (x86_64, the default, or arm64), read here with `aws ssm get-parameter` unless SOURCE_AMI is
# given. The template's own fallback (newest by name) is never used from a laptop: it can differ
# from the recommended image, and AWS has pulled releases. The parameter paths must stay those of
# recommendedBaseAmiParameter in functions/lib/contracts/index.ts (test/unit/bake-ami-locally.test.ts).
#
# Environment (all optional except a region from AWS_REGION or the profile):
#   AWS_PROFILE, AWS_REGION, ARCHITECTURE (x86_64 or arm64, default x86_64), SOURCE_AMI (default:
#   the recommended ECS-optimized AL2023 AMI of ARCHITECTURE), TIMEZONE, AMI_NAME_PREFIX,
#   BUILD_INSTANCE_TYPE (default t3.medium, t4g.medium for arm64), DATA_VOLUME_SIZE_GB,
#   BUILD_SUBNET_ID + BUILD_VPC_ID, EBS_KMS_KEY_ID, OS_RELEASE_VERSION, BUILD_ID (default
#   manual-<UTC time>), GIT_COMMIT (default HEAD, with -dirty when packer/, files/ or buildspec/
#   have local changes), PACKER_ASSETS_SHA256 (default: computed as below), PACKER (Packer
#   binary to use).
#
# PACKER_ASSETS_SHA256 is computed like deploy/packer-assets.js does for the CodeBuild project:
# SHA-256 over "<path>\0<SHA-256 of the file>\n" for every file under packer/, files/ and
# buildspec/ (tracked or untracked but not ignored; build outputs such as manifest.json left
# out), sorted by path.
set -euo pipefail
# Failures inside $(...) must stop the script too (bash >= 4.4).
shopt -s inherit_errexit

readonly MIN_PACKER_VERSION="1.11.0"
readonly RECOMMENDED_X86_64="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"
readonly RECOMMENDED_ARM64="/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended"
readonly OUTPUT_DIR=".build/packer"
readonly VARS_FILE=".build/packer.pkrvars.json"

die() {
  printf 'bake-ami-locally.sh: error: %s\n' "$*" >&2
  exit 1
}

log() {
  printf 'bake-ami-locally.sh: %s\n' "$*"
}

version_at_least() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" == "$2" ]]
}

# Prints the Packer binary to use: PACKER, else a recent enough `packer` on PATH, else the
# pinned release installed into .build/bin by buildspec/install-packer.sh (Linux x86_64).
resolve_packer() {
  if [[ -n "${PACKER:-}" ]]; then
    printf '%s\n' "$PACKER"
    return
  fi
  local found version
  if found="$(command -v packer)"; then
    version="$("$found" version | sed -nE 's/^Packer v([0-9]+\.[0-9]+\.[0-9]+).*/\1/p')"
    if [[ -n "$version" ]] && version_at_least "$version" "$MIN_PACKER_VERSION"; then
      printf '%s\n' "$found"
      return
    fi
    log "packer on PATH is ${version:-of unknown version}; the template needs >= $MIN_PACKER_VERSION" >&2
  fi
  [[ "$(uname -s)" == "Linux" && "$(uname -m)" == "x86_64" ]] ||
    die "install Packer >= $MIN_PACKER_VERSION (https://developer.hashicorp.com/packer/install) or set PACKER"
  buildspec/install-packer.sh "$PWD/.build/bin" >&2 ||
    die "could not install the pinned Packer; install Packer >= $MIN_PACKER_VERSION or set PACKER"
  printf '%s\n' "$PWD/.build/bin/packer"
}

# The deployment's digest, computed by the deployment's own code, so a laptop image and a pipeline
# image baked from the same files carry the same PackerAssetsSha256.
assets_sha256() {
  command -v node >/dev/null 2>&1 || die "node is needed to compute PACKER_ASSETS_SHA256 (or set it yourself)"
  node -e 'console.log(require(process.argv[1]).assetsSha256(process.argv[2]))' "$PWD/deploy/packer-assets.js" "$PWD"
}

# Prints AWS's public parameter for the recommended ECS-optimized AL2023 AMI of architecture $1.
recommended_parameter() {
  case "$1" in
    x86_64) printf '%s\n' "$RECOMMENDED_X86_64" ;;
    arm64) printf '%s\n' "$RECOMMENDED_ARM64" ;;
    *) die "ARCHITECTURE '$1' must be x86_64 or arm64" ;;
  esac
}

# The same default build instance per architecture as the pipeline (DEFAULT_BUILD_INSTANCE_TYPES
# in functions/lib/decisions/instance-types.ts): the default x86_64 type cannot boot an arm64 AMI.
default_build_instance_type() {
  case "$1" in
    x86_64) printf 't3.medium\n' ;;
    arm64) printf 't4g.medium\n' ;;
    *) die "ARCHITECTURE '$1' must be x86_64 or arm64" ;;
  esac
}

# Prints the AMI id the recommended parameter of architecture $1 names in region $2.
resolve_source_ami() {
  local name ami errors
  name="$(recommended_parameter "$1")/image_id"
  # stderr apart from the value: the CLI may print warnings on a successful call.
  errors="$(mktemp)"
  if ! ami="$(aws ssm get-parameter --region "$2" --name "$name" --query Parameter.Value --output text 2>"$errors")"; then
    local said
    said="$(head -c 300 "$errors")"
    rm -f "$errors"
    die "could not read the base AMI from $name in $2 (set SOURCE_AMI=ami-... to choose one): $said"
  fi
  rm -f "$errors"
  [[ "$ami" =~ ^ami-[0-9a-f]{8,17}$ ]] ||
    die "$name in $2 holds '${ami:0:100}', not an AMI id (set SOURCE_AMI=ami-... to choose one)"
  printf '%s\n' "$ami"
}

git_commit() {
  local commit
  commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  if [[ -n "$(git status --porcelain -- packer files buildspec 2>/dev/null)" ]]; then
    commit="${commit}-dirty"
  fi
  printf '%s\n' "$commit"
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  command -v aws >/dev/null 2>&1 ||
    die "the AWS CLI is needed (it reads the recommended base AMI and tags the AMI with the Docker and ECS agent versions)"
  command -v jq >/dev/null 2>&1 || die "jq is needed"
  export ARCHITECTURE="${ARCHITECTURE:-x86_64}"
  recommended_parameter "$ARCHITECTURE" >/dev/null

  # Lets SDKs that need it read region and role settings from ~/.aws/config.
  export AWS_SDK_LOAD_CONFIG=1
  if [[ -z "${AWS_REGION:-}" ]]; then
    AWS_REGION="$(aws configure get region || true)"
    [[ -n "$AWS_REGION" ]] || die "no region: set AWS_REGION or a region in your AWS profile"
  fi
  export AWS_REGION
  export BUILD_ID="${BUILD_ID:-manual-$(date -u +%Y%m%dT%H%M%SZ)}"
  GIT_COMMIT="${GIT_COMMIT:-$(git_commit)}"
  PACKER_ASSETS_SHA256="${PACKER_ASSETS_SHA256:-$(assets_sha256)}"
  export GIT_COMMIT PACKER_ASSETS_SHA256

  aws sts get-caller-identity --query Arn --output text >/dev/null ||
    die "no usable AWS credentials: set AWS_PROFILE (or log in with 'aws sso login') and retry"

  if [[ -z "${SOURCE_AMI:-}" ]]; then
    SOURCE_AMI="$(resolve_source_ami "$ARCHITECTURE" "$AWS_REGION")"
    log "base: $SOURCE_AMI, AWS's recommended ECS-optimized AL2023 $ARCHITECTURE image in $AWS_REGION"
  fi
  export SOURCE_AMI
  BUILD_INSTANCE_TYPE="${BUILD_INSTANCE_TYPE:-$(default_build_instance_type "$ARCHITECTURE")}"
  export BUILD_INSTANCE_TYPE

  local packer
  packer="$(resolve_packer)"
  log "using $("$packer" version | sed -n 1p) in $AWS_REGION, build $BUILD_ID"

  mkdir -p "$OUTPUT_DIR"
  rm -f "$OUTPUT_DIR/manifest.json" "$OUTPUT_DIR/image-versions.json"
  buildspec/packer-vars.sh >"$VARS_FILE"

  "$packer" init packer/
  "$packer" validate -var-file="$VARS_FILE" -var "output_directory=$OUTPUT_DIR" packer/
  "$packer" build -var-file="$VARS_FILE" -var "output_directory=$OUTPUT_DIR" packer/

  local ami_env line ami_id="" ami_region="" source_ami_id=""
  ami_env="$(buildspec/read-manifest.sh "$OUTPUT_DIR/manifest.json" "$AWS_REGION")"
  while IFS= read -r line; do
    line="${line#export }"
    case "${line%%=*}" in
      AMI_ID) ami_id="${line#*=}" ;;
      AMI_REGION) ami_region="${line#*=}" ;;
      SOURCE_AMI_ID) source_ami_id="${line#*=}" ;;
    esac
  done <<<"$ami_env"
  buildspec/tag-image-versions.sh "$ami_id" "$ami_region" "$OUTPUT_DIR/image-versions.json"
  log "baked $ami_id in $ami_region from $source_ami_id (manifest: $OUTPUT_DIR/manifest.json)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
