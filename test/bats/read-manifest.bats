#!/usr/bin/env bats
# buildspec/read-manifest.sh: the AMI of the last Packer run, or a clear failure.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/buildspec/read-manifest.sh"
MANIFEST="$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json"

setup() {
  unset AWS_REGION
}

# Writes the fixture with a jq filter applied and prints the new file's path.
manifest_with() {
  local file="$BATS_TEST_TMPDIR/manifest.json"
  jq "$1" "$MANIFEST" >"$file"
  printf '%s\n' "$file"
}

@test "exports the AMI, region and source AMI of the last run, not of earlier runs" {
  run "$SCRIPT" "$MANIFEST"
  [ "$status" -eq 0 ]
  diff -u - <(printf '%s\n' "$output") <<'EOF'
export AMI_ID=ami-0123456789abcdef0
export AMI_REGION=us-east-1
export SOURCE_AMI_ID=ami-0abcdef1234567890
EOF
}

@test "its output sourced in a shell sets the exported variables" {
  run bash -c 'set -euo pipefail; source <("$1" "$2"); printf "%s %s %s\n" "$AMI_ID" "$AMI_REGION" "$SOURCE_AMI_ID"' _ "$SCRIPT" "$MANIFEST"
  [ "$status" -eq 0 ]
  [ "$output" = "ami-0123456789abcdef0 us-east-1 ami-0abcdef1234567890" ]
}

@test "selects the build by last_run_uuid, not by its position" {
  local file
  file="$(manifest_with '.last_run_uuid = .builds[0].packer_run_uuid')"
  run "$SCRIPT" "$file"
  [ "$status" -eq 0 ]
  [[ "$output" == *"AMI_ID=ami-0a1b2c3d4e5f60718"* ]]
}

@test "picks the build region's AMI from a multi-region artifact" {
  local file
  file="$(manifest_with '.builds[1].artifact_id = "eu-west-1:ami-0eeeeeeeeeeeeeee1,us-east-1:ami-0123456789abcdef0"')"
  run "$SCRIPT" "$file" us-east-1
  [ "$status" -eq 0 ]
  [[ "$output" == *"AMI_ID=ami-0123456789abcdef0"* ]]
  AWS_REGION=eu-west-1 run "$SCRIPT" "$file"
  [ "$status" -eq 0 ]
  [[ "$output" == *"AMI_ID=ami-0eeeeeeeeeeeeeee1"* ]]
  [[ "$output" == *"AMI_REGION=eu-west-1"* ]]
}

@test "accepts every region name shape of every partition" {
  # bash's reading of the script's own pattern for every shape (no run per name), then the script.
  local file region REGION_PATTERN
  eval "$(grep -m1 '^readonly REGION_PATTERN=' "$SCRIPT")"
  for region in us-east-1 us-gov-west-1 cn-north-1 cn-northwest-1 eu-central-2 ap-southeast-5 \
    mx-central-1 il-central-1 ca-west-1 us-isob-east-1 us-iso-east-1 eusc-de-east-1; do
    [[ "$region" =~ $REGION_PATTERN ]] || { echo "rejected $region"; false; }
  done
  for region in us-gov-west-1 eusc-de-east-1; do
    file="$(manifest_with ".builds[1].artifact_id = \"$region:ami-0123456789abcdef0\"")"
    run "$SCRIPT" "$file"
    [ "$status" -eq 0 ]
    [[ "$output" == *"AMI_REGION=$region"* ]]
  done
}

@test "rejects a region that is not a region name" {
  local file region
  for region in 'us-east-1; rm' 'US-EAST-1' 'us-east' 'useast1'; do
    file="$(manifest_with ".builds[1].artifact_id = \"$region:ami-0123456789abcdef0\"")"
    run "$SCRIPT" "$file"
    [ "$status" -ne 0 ]
    [[ "$output" == *"does not name an AMI as region:ami-id"* ]]
  done
}

@test "fails clearly when the manifest is missing" {
  run "$SCRIPT" "$BATS_TEST_TMPDIR/nowhere.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no Packer manifest"* ]]
  [[ "$output" != *"AMI_ID="* ]]
}

@test "fails clearly when the manifest is empty" {
  : >"$BATS_TEST_TMPDIR/empty.json"
  run "$SCRIPT" "$BATS_TEST_TMPDIR/empty.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing or empty"* ]]
}

@test "fails clearly when the last run has no build (a failed packer build)" {
  local file
  file="$(manifest_with '.last_run_uuid = "5e1d0c2b-0000-4000-8000-000000000000"')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no build for the last run 5e1d0c2b-0000-4000-8000-000000000000"* ]]
}

@test "fails clearly when there are no builds at all" {
  local file
  file="$(manifest_with '.builds = []')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no build for the last run"* ]]
}

@test "fails clearly when the manifest has no last_run_uuid" {
  local file
  file="$(manifest_with 'del(.last_run_uuid)')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no last_run_uuid"* ]]
}

@test "fails clearly when the artifact names no AMI" {
  local file
  file="$(manifest_with '.builds[1].artifact_id = ""')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"empty artifact_id"* ]]
  file="$(manifest_with '.builds[1].artifact_id = "us-east-1:snap-0123456789abcdef0"')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not name an AMI"* ]]
}

@test "fails clearly when the manifest is not JSON" {
  printf 'builds: []\n' >"$BATS_TEST_TMPDIR/not.json"
  run "$SCRIPT" "$BATS_TEST_TMPDIR/not.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not a JSON object"* ]]
}

@test "fails clearly when the source AMI is not recorded" {
  local file
  file="$(manifest_with 'del(.builds[1].custom_data)')"
  run "$SCRIPT" "$file"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no custom_data.source_ami_id"* ]]
}
