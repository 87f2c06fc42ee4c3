#!/usr/bin/env bats
# buildspec/tag-image-versions.sh: Docker and ECS agent versions on the AMI and its snapshots.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/buildspec/tag-image-versions.sh"
VERSIONS="$REPO_ROOT/test/bats/fixtures/versions.json"

setup() {
  setup_stubs
}

@test "tags the AMI and each of its snapshots with the versions and the OS release" {
  stub aws 'case "$2" in describe-images) printf "snap-0aaaaaaaaaaaaaaa1\tsnap-0bbbbbbbbbbbbbbb2\n" ;; esac'
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$VERSIONS"
  [ "$status" -eq 0 ]
  diff -u - "$STUB_LOG" <<'EOF2'
aws ec2 describe-images --region us-east-1 --image-ids ami-0123456789abcdef0 --query Images[0].BlockDeviceMappings[].Ebs.SnapshotId --output text
aws ec2 create-tags --region us-east-1 --resources ami-0123456789abcdef0 snap-0aaaaaaaaaaaaaaa1 snap-0bbbbbbbbbbbbbbb2 --tags Key=EcsAgentVersion,Value=1.99.1 Key=DockerVersion,Value=25.0.14 Key=OsRelease,Value=2023.9.20251110
EOF2
}

@test "fails without a versions file, before calling AWS" {
  stub aws
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$BATS_TEST_TMPDIR/missing.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no versions file"* ]]
  [ ! -s "$STUB_LOG" ]
}

@test "fails when a version is missing" {
  stub aws
  printf '{"docker_version": "25.0.14"}' >"$BATS_TEST_TMPDIR/versions.json"
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$BATS_TEST_TMPDIR/versions.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no usable ecs_agent_version"* ]]
}

@test "fails when the OS release is missing (a versions file from an older template)" {
  stub aws
  printf '{"ecs_agent_version": "1.99.1", "docker_version": "25.0.14"}' >"$BATS_TEST_TMPDIR/versions.json"
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$BATS_TEST_TMPDIR/versions.json"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no usable os_release_version"* ]]
  [ ! -s "$STUB_LOG" ]
}

@test "fails when the AMI has no snapshots" {
  stub aws 'case "$2" in describe-images) echo None ;; esac'
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$VERSIONS"
  [ "$status" -ne 0 ]
  refute_line_in "$STUB_LOG" 'create-tags'
}

@test "fails when tagging fails" {
  stub aws 'case "$2" in describe-images) echo snap-0aaaaaaaaaaaaaaa1 ;; create-tags) exit 254 ;; esac'
  run "$SCRIPT" ami-0123456789abcdef0 us-east-1 "$VERSIONS"
  [ "$status" -ne 0 ]
}
