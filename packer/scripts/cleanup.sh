#!/usr/bin/env bash
# Leaves the image in the state of a machine that has never booted, so every instance
# starts clean and none shares an identity with the build instance or with each other:
#   - ECS agent unmasked (the build's user data masked it so the build instance never joined
#     a cluster), stopped, and its state (/var/lib/ecs/data) removed: a copied state file makes
#     the agent try to re-register as the build instance's container instance;
#   - Docker pruned, then Docker and the ECS agent stopped and disabled, and checked to be
#     exactly that (disabled, not masked): only the first-run script enables and starts them,
#     after it has written /etc/ecs/ecs.config (ecs-init reloads the agent image from
#     /var/cache/ecs on its next start, so pruning it is safe);
#   - build logs, SSH host keys, authorized_keys, shell history and cloud-init state removed,
#     so cloud-init runs as on a first boot and creates new host keys;
#   - /etc/machine-id emptied, not deleted: systemd then generates a new id at boot
#     without treating the boot as a first boot.
# Packer's temporary key goes with authorized_keys, so this must be the last provisioner.
#
# Test seam: CLEANUP_ROOT (default /) prefixes every file path; commands (systemctl, docker,
# journalctl, cloud-init, dnf) are taken from PATH.
set -euo pipefail

ROOT="${CLEANUP_ROOT:-/}"
ROOT="${ROOT%/}"

log() {
  printf 'cleanup.sh: %s\n' "$*"
}

die() {
  printf 'cleanup.sh: error: %s\n' "$*" >&2
  exit 1
}

# The unmask comes first: systemd skips a masked unit on disable ("masked, ignoring"), which
# would leave ecs.service enabled in the image once the runtime mask is gone.
stop_container_runtime() {
  systemctl unmask --runtime ecs.service
  systemctl stop ecs.service
  systemctl is-active --quiet docker.service || systemctl start docker.service
  docker system prune --all --force --volumes
  systemctl stop docker.service docker.socket
  systemctl disable ecs.service docker.service docker.socket
  require_disabled ecs.service docker.service docker.socket
  log "ECS agent and Docker stopped, pruned and disabled"
}

# Fails the bake unless each unit is disabled: enabled would start it before firstrun.sh
# configured it, masked (or masked-runtime) would keep firstrun.sh from starting it at all.
require_disabled() {
  local unit state
  for unit in "$@"; do
    # is-enabled exits non-zero for "disabled"; its output is what counts.
    state="$(systemctl is-enabled "$unit" 2>/dev/null || true)"
    [[ "$state" == "disabled" ]] ||
      die "$unit is '${state:-unknown}' after cleanup, not 'disabled': firstrun.sh could not rely on starting it"
  done
}

remove_ecs_state() {
  if [[ -d "$ROOT/var/lib/ecs/data" ]]; then
    find "$ROOT/var/lib/ecs/data" -mindepth 1 -delete
  fi
  log "ECS agent state removed"
}

remove_build_logs() {
  journalctl --rotate
  journalctl --vacuum-time=1s
  if [[ -d "$ROOT/var/log/journal" ]]; then
    find "$ROOT/var/log/journal" -mindepth 1 -delete
  fi
  rm -rf "$ROOT"/var/log/ecs/* "$ROOT/var/log/docker"
  if [[ -d "$ROOT/var/log" ]]; then
    # Rotated copies go; live files are emptied in place so their owners and modes stay.
    find "$ROOT/var/log" -path "$ROOT/var/log/journal" -prune -o -type f \
      \( -name '*.gz' -o -name '*.[0-9]' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \) -print0 |
      xargs -0 -r rm -f
    find "$ROOT/var/log" -path "$ROOT/var/log/journal" -prune -o -type f -print0 |
      xargs -0 -r truncate -s 0
  fi
  log "build logs removed"
}

remove_identity() {
  rm -f "$ROOT"/etc/ssh/ssh_host_*
  rm -f "$ROOT/root/.ssh/authorized_keys" "$ROOT"/home/*/.ssh/authorized_keys
  rm -f "$ROOT/root/.bash_history" "$ROOT"/home/*/.bash_history
  cloud-init clean --logs --seed
  rm -f "$ROOT/var/lib/systemd/random-seed"
  if [[ -f "$ROOT/var/lib/dbus/machine-id" && ! -L "$ROOT/var/lib/dbus/machine-id" ]]; then
    rm -f "$ROOT/var/lib/dbus/machine-id"
  fi
  mkdir -p "$ROOT/etc"
  : >"$ROOT/etc/machine-id"
  chmod 0444 "$ROOT/etc/machine-id"
  log "SSH host keys, authorized_keys, cloud-init state and machine-id removed"
}

main() {
  stop_container_runtime
  remove_ecs_state
  dnf clean all
  remove_build_logs
  remove_identity
  sync
}

main "$@"
