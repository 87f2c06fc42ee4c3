#!/usr/bin/env bats
# packer/scripts/time.sh, packages.sh and logging.sh with stub system commands.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

setup() {
  setup_stubs
  ROOT="$BATS_TEST_TMPDIR/root"
  mkdir -p "$ROOT/usr/share/zoneinfo/Europe" "$ROOT/etc/chrony.d"
  touch "$ROOT/usr/share/zoneinfo/Europe/Berlin"
  export TIME_ROOT="$ROOT"
  stub timedatectl
  stub systemctl
  stub chronyc 'cat "$TIME_ROOT/etc/chrony.conf" "$TIME_ROOT"/etc/chrony.d/* 2>/dev/null | sed -n "s/^server \([^ ]*\).*/^? \1/p"'
}

@test "time: sets the zone and adds the Amazon Time Sync Service once" {
  printf 'pool 2.amazon.pool.ntp.org iburst\n' >"$ROOT/etc/chrony.conf"
  TIMEZONE=Europe/Berlin run "$REPO_ROOT/packer/scripts/time.sh"
  [ "$status" -eq 0 ]
  grep -qx 'timedatectl set-timezone Europe/Berlin' "$STUB_LOG"
  grep -qx 'server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4' "$ROOT/etc/chrony.conf"
  TIMEZONE=Europe/Berlin run "$REPO_ROOT/packer/scripts/time.sh"
  [ "$status" -eq 0 ]
  [ "$(grep -c '169.254.169.123' "$ROOT/etc/chrony.conf")" -eq 1 ]
}

@test "time: leaves chrony alone when a drop-in already uses the service" {
  printf 'pool 2.amazon.pool.ntp.org iburst\n' >"$ROOT/etc/chrony.conf"
  printf 'server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4\n' >"$ROOT/etc/chrony.d/link-local.sources"
  TIMEZONE=Europe/Berlin run "$REPO_ROOT/packer/scripts/time.sh"
  [ "$status" -eq 0 ]
  [ "$(cat "$ROOT/etc/chrony.conf")" = "pool 2.amazon.pool.ntp.org iburst" ]
}

@test "time: refuses an unknown zone before changing anything" {
  TIMEZONE=Mars/Olympus_Mons run "$REPO_ROOT/packer/scripts/time.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown time zone 'Mars/Olympus_Mons'"* ]]
  [ ! -s "$STUB_LOG" ]
}

@test "packages: upgrades to the latest release without the container runtime and installs the agents" {
  stub rpm 'printf "%s-1.0-1.amzn2023.x86_64\n" "$@"'
  stub dnf
  run "$REPO_ROOT/packer/scripts/packages.sh"
  [ "$status" -eq 0 ]
  grep -qx 'dnf upgrade -y --releasever=latest --exclude=ecs\* --exclude=docker\* --exclude=containerd\* --exclude=runc\*' "$STUB_LOG"
  grep -qx 'dnf install -y --releasever=latest aws-cfn-bootstrap amazon-cloudwatch-agent jq rsyslog logrotate' "$STUB_LOG"
}

@test "packages: fails when the container runtime changed during the upgrade" {
  local marker="$BATS_TEST_TMPDIR/upgraded"
  stub rpm "if [[ -e '$marker' ]]; then echo docker-26.0.0-1; else echo docker-25.0.14-1; fi"
  stub dnf "touch '$marker'"
  run "$REPO_ROOT/packer/scripts/packages.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the container runtime changed"* ]]
}

@test "logging: routes Docker and kernel messages to their files, rotates them, checks rsyslog's config" {
  export LOGGING_ROOT="$ROOT"
  stub rsyslogd
  run "$REPO_ROOT/packer/scripts/logging.sh"
  [ "$status" -eq 0 ]
  local rules="$ROOT/etc/rsyslog.d/30-ecs-ami-pipeline.conf"
  grep -q "^if \$programname == 'dockerd' or \$programname == 'containerd' then {" "$rules"
  grep -q 'file="/var/log/docker"' "$rules"
  grep -qx '    stop' "$rules"
  grep -qE '^kern\.\*[[:space:]]+/var/log/dmesg$' "$rules"
  grep -q '^/var/log/docker /var/log/dmesg {' "$ROOT/etc/logrotate.d/ecs-ami-pipeline"
  grep -qx 'rsyslogd -N1' "$STUB_LOG"
  grep -qx 'systemctl enable rsyslog' "$STUB_LOG"
}
