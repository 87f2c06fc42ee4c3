#!/usr/bin/env bash
# Sets the image's time zone and makes chrony use the Amazon Time Sync Service
# (169.254.169.123), which every EC2 instance reaches without leaving the hypervisor: no NTP
# traffic through a proxy or NAT.
#
# AL2023 already points chrony at the service; the server line is added only when no chrony
# configuration mentions the address, so a second run changes nothing.
#
# Test seam: TIME_ROOT (default /) prefixes the zoneinfo and chrony paths; timedatectl,
# systemctl and chronyc are taken from PATH.
set -euo pipefail

readonly TIME_SYNC_ADDRESS="169.254.169.123"
ROOT="${TIME_ROOT:-/}"
readonly ROOT="${ROOT%/}"

die() {
  printf 'time.sh: error: %s\n' "$*" >&2
  exit 1
}

main() {
  local timezone="${TIMEZONE:?TIMEZONE (an IANA zone such as UTC) is required}"
  [[ -f "$ROOT/usr/share/zoneinfo/$timezone" ]] || die "unknown time zone '$timezone' (no /usr/share/zoneinfo/$timezone)"

  timedatectl set-timezone "$timezone"
  printf 'time.sh: time zone set to %s\n' "$timezone"

  if ! grep -rqsF "$TIME_SYNC_ADDRESS" "$ROOT/etc/chrony.conf" "$ROOT/etc/chrony.d"; then
    printf '\n# Amazon Time Sync Service, added by ecs-ami-pipeline\nserver %s prefer iburst minpoll 4 maxpoll 4\n' \
      "$TIME_SYNC_ADDRESS" >>"$ROOT/etc/chrony.conf"
  fi
  systemctl enable chronyd
  systemctl restart chronyd

  # chronyc lists configured sources at once, reachable or not: this checks configuration only.
  local sources
  sources="$(chronyc -n sources)"
  grep -qF "$TIME_SYNC_ADDRESS" <<<"$sources" ||
    die "chrony does not list $TIME_SYNC_ADDRESS as a source"
  printf 'time.sh: chrony uses the Amazon Time Sync Service (%s)\n' "$TIME_SYNC_ADDRESS"
}

main "$@"
