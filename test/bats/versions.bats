#!/usr/bin/env bats
# packer/scripts/versions.sh: the versions file Packer downloads from the build instance.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/versions.sh"

setup() {
  setup_stubs
  export IMAGE_VERSIONS_FILE="$BATS_TEST_TMPDIR/image-versions.json"
}

@test "records the ecs-init (ECS agent) and docker package versions, and the Amazon Linux release" {
  stub rpm 'case "${!#}" in ecs-init) printf 1.99.1 ;; docker) printf 25.0.14 ;; system-release) printf 2023.9.20251110 ;; *) exit 1 ;; esac'
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ "$(jq -c . "$IMAGE_VERSIONS_FILE")" = '{"ecs_agent_version":"1.99.1","docker_version":"25.0.14","os_release_version":"2023.9.20251110"}' ]
}

@test "fails when a package is missing" {
  stub rpm 'case "${!#}" in ecs-init) printf 1.99.1 ;; *) echo "package ${!#} is not installed"; exit 1 ;; esac'
  run "$SCRIPT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"package docker is not installed"* ]]
  [ ! -e "$IMAGE_VERSIONS_FILE" ]
}
