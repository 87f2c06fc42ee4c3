#!/usr/bin/env bats
# scripts/bake-ami-locally.sh (`make ami`) with stub packer and aws commands, in a scratch
# copy of the repository so its .build/ output stays out of the real checkout.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

setup() {
  setup_stubs
  COPY="$BATS_TEST_TMPDIR/repo"
  mkdir -p "$COPY/scripts"
  cp -R "$REPO_ROOT/packer" "$REPO_ROOT/buildspec" "$REPO_ROOT/files" "$REPO_ROOT/deploy" "$COPY/"
  cp "$REPO_ROOT/scripts/bake-ami-locally.sh" "$COPY/scripts/"
  unset AWS_REGION AWS_PROFILE PACKER SOURCE_AMI BUILD_ID GIT_COMMIT PACKER_ASSETS_SHA256 ARCHITECTURE \
    BUILD_SUBNET_ID BUILD_VPC_ID EBS_KMS_KEY_ID TIMEZONE AMI_NAME_PREFIX BUILD_INSTANCE_TYPE DATA_VOLUME_SIZE_GB
  # The recommended parameters answer with a different image per architecture.
  stub aws '
case "$1 $2" in
  "configure get") echo us-east-1 ;;
  "sts get-caller-identity") echo arn:aws:sts::000000000000:assumed-role/builder/session ;;
  "ec2 describe-images") echo snap-0aaaaaaaaaaaaaaa1 ;;
  "ssm get-parameter")
    case "$*" in
      *" --name /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id "*) echo ami-0aaaaaaaaaaaaaaa6 ;;
      *" --name /aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id "*) echo ami-0bbbbbbbbbbbbbbb4 ;;
      *) echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2; exit 254 ;;
    esac ;;
esac'
  packer_writes "$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json"
}

# A stub Packer 1.15 whose `build` writes MANIFEST and the versions file to output_directory.
packer_writes() {
  stub packer "
case \"\$1\" in
  version) echo 'Packer v1.15.4' ;;
  build)
    out=''
    while (( \$# )); do
      [[ \"\$1\" == -var && \"\$2\" == output_directory=* ]] && out=\"\${2#output_directory=}\"
      shift
    done
    cp '$1' \"\$out/manifest.json\"
    cp '$REPO_ROOT/test/bats/fixtures/versions.json' \"\$out/image-versions.json\" ;;
esac"
}

@test "bakes with the profile's region and the buildspec's variable mapping, then tags the AMI" {
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"baked ami-0123456789abcdef0 in us-east-1 from ami-0abcdef1234567890"* ]]
  grep -qx 'packer init packer/' "$STUB_LOG"
  grep -qx 'packer validate -var-file=.build/packer.pkrvars.json -var output_directory=.build/packer packer/' "$STUB_LOG"
  grep -qx 'packer build -var-file=.build/packer.pkrvars.json -var output_directory=.build/packer packer/' "$STUB_LOG"
  grep -q '^aws ec2 create-tags --region us-east-1 --resources ami-0123456789abcdef0 snap-0aaaaaaaaaaaaaaa1 ' "$STUB_LOG"
  local vars="$COPY/.build/packer.pkrvars.json"
  [ "$(jq -r .region "$vars")" = "us-east-1" ]
  [[ "$(jq -r .build_id "$vars")" == manual-20* ]]
  [[ "$(jq -r .packer_assets_sha256 "$vars")" =~ ^[0-9a-f]{64}$ ]]
}

@test "passes the person's settings through, and only accepts an AMI of the build region" {
  AWS_REGION=us-west-2 SOURCE_AMI=ami-0fedcba9876543210 TIMEZONE=Australia/Sydney BUILD_ID=manual-test \
    run "$COPY/scripts/bake-ami-locally.sh"
  # The stub's manifest is from us-east-1: the region given wins over the profile's, and an
  # AMI from another region is refused.
  [ "$status" -ne 0 ]
  [[ "$output" == *"has no AMI in region us-west-2"* ]]
  local vars="$COPY/.build/packer.pkrvars.json"
  [ "$(jq -r '[.region, .source_ami, .timezone, .build_id] | join(" ")' "$vars")" = "us-west-2 ami-0fedcba9876543210 Australia/Sydney manual-test" ]
}

@test "stops before Packer when there are no AWS credentials" {
  stub aws 'case "$1 $2" in "configure get") echo eu-west-1 ;; "sts get-caller-identity") exit 255 ;; esac'
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no usable AWS credentials"* ]]
  refute_line_in "$STUB_LOG" '^packer (init|build)'
}

@test "fails, without tagging, when the manifest has no AMI for the last run" {
  jq '.last_run_uuid = "5e1d0c2b-0000-4000-8000-000000000000"' \
    "$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json" >"$BATS_TEST_TMPDIR/failed.json"
  packer_writes "$BATS_TEST_TMPDIR/failed.json"
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no build for the last run"* ]]
  refute_line_in "$STUB_LOG" 'create-tags'
}

@test "does not use a Packer older than the template needs" {
  stub packer 'echo "Packer v1.6.6"'
  PACKER_RELEASES_URL="file://$BATS_TEST_TMPDIR/no-releases" run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the template needs >= 1.11.0"* ]]
  refute_line_in "$STUB_LOG" '^packer (init|build)'
}

@test "takes PACKER_ASSETS_SHA256 from the deployment's code (deploy/packer-assets.js)" {
  [ -f "$REPO_ROOT/deploy/packer-assets.js" ] || skip "deploy/packer-assets.js is not in this checkout"
  command -v node >/dev/null || skip "node is not installed"
  local ours theirs
  ours="$(cd "$REPO_ROOT" && bash -c 'source scripts/bake-ami-locally.sh && assets_sha256')"
  theirs="$(node -e 'console.log(require(process.argv[1]).sha256())' "$REPO_ROOT/deploy/packer-assets.js")"
  [[ "$ours" =~ ^[0-9a-f]{64}$ ]]
  [ "$ours" = "$theirs" ]
  # Outside a git work tree both walk the directories.
  ours="$(cd "$COPY" && bash -c 'source scripts/bake-ami-locally.sh && assets_sha256')"
  theirs="$(node -e 'console.log(require(process.argv[1]).assetsSha256(process.argv[2]))' "$REPO_ROOT/deploy/packer-assets.js" "$COPY")"
  [ "$ours" = "$theirs" ]
}

@test "without SOURCE_AMI, bakes from AWS's recommended x86_64 image, like the pipeline" {
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -eq 0 ]
  grep -qx 'aws ssm get-parameter --region us-east-1 --name /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id --query Parameter.Value --output text' "$STUB_LOG"
  [[ "$output" == *"base: ami-0aaaaaaaaaaaaaaa6, AWS's recommended ECS-optimized AL2023 x86_64 image in us-east-1"* ]]
  local vars="$COPY/.build/packer.pkrvars.json"
  [ "$(jq -c '[.source_ami, .architecture, .instance_type]' "$vars")" = '["ami-0aaaaaaaaaaaaaaa6","x86_64","t3.medium"]' ]
}

@test "ARCHITECTURE=arm64 takes the arm64 recommended image and a Graviton build instance" {
  ARCHITECTURE=arm64 run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -eq 0 ]
  grep -q -- '--name /aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id ' "$STUB_LOG"
  local vars="$COPY/.build/packer.pkrvars.json"
  [ "$(jq -c '[.source_ami, .architecture, .instance_type]' "$vars")" = '["ami-0bbbbbbbbbbbbbbb4","arm64","t4g.medium"]' ]
}

@test "keeps a chosen SOURCE_AMI and BUILD_INSTANCE_TYPE and reads no parameter" {
  ARCHITECTURE=arm64 SOURCE_AMI=ami-0fedcba9876543210 BUILD_INSTANCE_TYPE=c7g.large run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -eq 0 ]
  refute_line_in "$STUB_LOG" '^aws ssm '
  [ "$(jq -c '[.source_ami, .instance_type]' "$COPY/.build/packer.pkrvars.json")" = '["ami-0fedcba9876543210","c7g.large"]' ]
}

@test "refuses an architecture other than x86_64 and arm64 before calling AWS" {
  ARCHITECTURE=aarch64 run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"ARCHITECTURE 'aarch64' must be x86_64 or arm64"* ]]
  refute_line_in "$STUB_LOG" '^(aws|packer) '
}

@test "stops before Packer, saying what AWS said and how to choose a base, when the parameter cannot be read" {
  stub aws '
case "$1 $2" in
  "configure get") echo eu-west-1 ;;
  "sts get-caller-identity") echo arn:aws:sts::000000000000:assumed-role/builder/session ;;
  "ssm get-parameter") echo "An error occurred (AccessDeniedException) when calling the GetParameter operation" >&2; exit 254 ;;
esac'
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not read the base AMI from /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id in eu-west-1 (set SOURCE_AMI=ami-... to choose one): An error occurred (AccessDeniedException)"* ]]
  refute_line_in "$STUB_LOG" '^packer (init|build)'
}

@test "refuses a parameter value that is not an AMI id, and ignores warnings the CLI prints on success" {
  stub aws '
case "$1 $2" in
  "configure get") echo eu-west-1 ;;
  "sts get-caller-identity") echo arn:aws:sts::000000000000:assumed-role/builder/session ;;
  "ssm get-parameter") echo "PythonDeprecationWarning: upgrade" >&2; echo None ;;
esac'
  run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"holds 'None', not an AMI id"* ]]
  refute_line_in "$STUB_LOG" '^packer (init|build)'
}

@test "says the AWS CLI is needed when there is none" {
  local bin="$BATS_TEST_TMPDIR/no-aws-bin" tool
  mkdir -p "$bin"
  for tool in bash dirname; do
    ln -s "$(command -v "$tool")" "$bin/$tool"
  done
  PATH="$bin" run "$COPY/scripts/bake-ami-locally.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the AWS CLI is needed (it reads the recommended base AMI"* ]]
}
