#!/usr/bin/env bash
# Patches the operating system and installs what the first-run script and the cluster stack
# need: aws-cfn-bootstrap (cfn-init, cfn-signal), amazon-cloudwatch-agent (awslogs does not
# exist on AL2023), jq (the first-run health check), rsyslog and logrotate (see logging.sh).
#
# AL2023 pins dnf to the release the AMI was built from; --releasever moves the image to
# OS_RELEASE_VERSION: `latest` (the default) or a pinned release such as 2023.9.20251110, for a
# bake that must be repeatable (latest is whatever AWS published that day; versions.sh records
# the release reached, and the AMI is tagged OsRelease with it). The container runtime is excluded: AWS tests each ECS-optimized AMI
# as a set of ecs-init (which carries the ECS agent), docker, containerd and runc, so those
# stay at the base AMI's versions and change only when the pipeline picks a new base AMI.
set -euo pipefail

readonly RUNTIME_PACKAGES=(ecs-init docker containerd runc)
readonly RUNTIME_EXCLUDES=(--exclude='ecs*' --exclude='docker*' --exclude='containerd*' --exclude='runc*')
readonly EXTRA_PACKAGES=(aws-cfn-bootstrap amazon-cloudwatch-agent jq rsyslog logrotate)

runtime_versions() {
  # rpm prints "package X is not installed" (and fails) for a missing one; that line is
  # compared like the others.
  rpm -q "${RUNTIME_PACKAGES[@]}" || true
}

main() {
  local release="${OS_RELEASE_VERSION:-latest}" before after
  if [[ ! "$release" =~ ^(latest|2023\.[0-9]{1,3}\.[0-9]{8})$ ]]; then
    printf 'packages.sh: error: OS_RELEASE_VERSION %s is not latest or a release such as 2023.9.20251110\n' "$release" >&2
    exit 1
  fi
  before="$(runtime_versions)"

  dnf upgrade -y --releasever="$release" "${RUNTIME_EXCLUDES[@]}"
  dnf install -y --releasever="$release" "${EXTRA_PACKAGES[@]}"

  after="$(runtime_versions)"
  if [[ "$before" != "$after" ]]; then
    printf 'packages.sh: error: the container runtime changed during the upgrade:\n%s\n--- became ---\n%s\n' \
      "$before" "$after" >&2
    exit 1
  fi
  printf 'packages.sh: runtime kept at the base AMI versions:\n%s\n' "$after"
}

main "$@"
