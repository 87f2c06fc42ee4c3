#!/usr/bin/env bash
# Records the ECS agent and Docker versions of the image in a JSON file that Packer downloads
# (a file provisioner with direction = "download"). Packer fixes the AMI tags before the build
# starts, so buildspec/tag-image-versions.sh sets the EcsAgentVersion and DockerVersion tags
# from this file once the AMI exists.
#
# On AL2023 the ECS agent ships inside the ecs-init package and shares its version.
# Test seams: IMAGE_VERSIONS_FILE and rpm on PATH.
set -euo pipefail

package_version() {
  local package="$1" version
  version="$(rpm -q --queryformat '%{VERSION}' "$package")" ||
    {
      printf 'versions.sh: error: package %s is not installed\n' "$package" >&2
      return 1
    }
  printf '%s\n' "$version"
}

main() {
  local output="${IMAGE_VERSIONS_FILE:?IMAGE_VERSIONS_FILE is required}"
  local ecs_agent docker tmp
  ecs_agent="$(package_version ecs-init)"
  docker="$(package_version docker)"

  tmp="$(mktemp "${output}.XXXXXX")"
  jq -n --arg ecs_agent "$ecs_agent" --arg docker "$docker" \
    '{ecs_agent_version: $ecs_agent, docker_version: $docker}' >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$output"
  printf 'versions.sh: ECS agent %s, Docker %s\n' "$ecs_agent" "$docker"
}

main "$@"
