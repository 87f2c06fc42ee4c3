#!/usr/bin/env bash
# Records the ECS agent and Docker versions and the Amazon Linux release of the image in a JSON
# file that Packer downloads (a file provisioner with direction = "download"). Packer fixes the
# AMI tags before the build starts, so buildspec/tag-image-versions.sh sets the EcsAgentVersion,
# DockerVersion and OsRelease tags from this file once the AMI exists.
#
# On AL2023 the ECS agent ships inside the ecs-init package and shares its version; the release
# is the version of the system-release package (2023.9.20251110), which dnf --releasever moves.
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
  local ecs_agent docker os_release tmp
  ecs_agent="$(package_version ecs-init)"
  docker="$(package_version docker)"
  os_release="$(package_version system-release)"

  tmp="$(mktemp "${output}.XXXXXX")"
  jq -n --arg ecs_agent "$ecs_agent" --arg docker "$docker" --arg os_release "$os_release" \
    '{ecs_agent_version: $ecs_agent, docker_version: $docker, os_release_version: $os_release}' >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$output"
  printf 'versions.sh: ECS agent %s, Docker %s, Amazon Linux %s\n' "$ecs_agent" "$docker" "$os_release"
}

main "$@"
