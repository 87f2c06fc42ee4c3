#!/usr/bin/env bats
# packer/scripts/cleanup.sh against a temporary root, with stub service and tool commands.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/cleanup.sh"

setup() {
  setup_stubs
  local tool
  for tool in docker journalctl cloud-init dnf sync; do
    stub "$tool"
  done
  # is-enabled prints the state and exits 1 for a disabled unit, like systemctl.
  stub systemctl 'if [[ "$1" == is-enabled ]]; then echo disabled; exit 1; fi'
  ROOT="$BATS_TEST_TMPDIR/root"
  export CLEANUP_ROOT="$ROOT"
  mkdir -p "$ROOT"/{etc/ssh,root/.ssh,home/ec2-user/.ssh,var/lib/ecs/data,var/log/ecs,var/log/journal/abc,var/lib/systemd}
  echo 0123456789abcdef0123456789abcdef >"$ROOT/etc/machine-id"
  touch "$ROOT/etc/ssh/ssh_host_ed25519_key" "$ROOT/etc/ssh/ssh_host_ed25519_key.pub" "$ROOT/etc/ssh/sshd_config"
  echo "ssh-ed25519 AAAA packer" >"$ROOT/home/ec2-user/.ssh/authorized_keys"
  echo "ssh-ed25519 AAAA root" >"$ROOT/root/.ssh/authorized_keys"
  echo "sudo dnf upgrade" >"$ROOT/home/ec2-user/.bash_history"
  echo '{"Cluster":"default"}' >"$ROOT/var/lib/ecs/data/ecs_agent_data.json"
  echo "agent log" >"$ROOT/var/log/ecs/ecs-agent.log"
  echo "build" >"$ROOT/var/log/messages"
  echo "old" >"$ROOT/var/log/messages-20261126"
  echo "old" >"$ROOT/var/log/cloud-init.log.1"
  echo "journal" >"$ROOT/var/log/journal/abc/system.journal"
  echo "seed" >"$ROOT/var/lib/systemd/random-seed"
}

@test "unmasks the ECS agent, stops it, prunes Docker, then stops and disables both and checks they are disabled" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  diff -u - <(grep -E '^(systemctl|docker) ' "$STUB_LOG") <<'LOG'
systemctl unmask --runtime ecs.service
systemctl stop ecs.service
systemctl is-active --quiet docker.service
docker system prune --all --force --volumes
systemctl stop docker.service docker.socket
systemctl disable ecs.service docker.service docker.socket
systemctl is-enabled ecs.service
systemctl is-enabled docker.service
systemctl is-enabled docker.socket
LOG
}

@test "leaves the agent disabled and unmasked, starting from the bake's state (runtime-masked and enabled)" {
  # A stateful systemctl for ecs.service that, like systemd, skips a masked unit on disable.
  local state="$BATS_TEST_TMPDIR/ecs-state"
  printf 'masked=1\nenabled=1\n' >"$state"
  stub systemctl "
state='$state'
source \"\$state\"
case \"\$*\" in
  'unmask --runtime ecs.service') masked=0 ;;
  'disable '*ecs.service*)
    if ((masked)); then echo 'Unit ecs.service is masked, ignoring.' >&2; else enabled=0; fi ;;
  'is-enabled ecs.service')
    if ((masked)); then echo masked-runtime; exit 0; elif ((enabled)); then echo enabled; exit 0; fi
    echo disabled; exit 1 ;;
  'is-enabled '*) echo disabled; exit 1 ;;
esac
printf 'masked=%s\nenabled=%s\n' \"\$masked\" \"\$enabled\" >\"\$state\""
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ "$(cat "$state")" = $'masked=0\nenabled=0' ]
}

@test "fails the bake when the agent is left masked or enabled instead of disabled" {
  local state
  for state in masked-runtime masked enabled; do
    : >"$STUB_LOG"
    stub systemctl "if [[ \"\$1 \$2\" == 'is-enabled ecs.service' ]]; then echo $state; exit 0; elif [[ \"\$1\" == is-enabled ]]; then echo disabled; exit 1; fi"
    run "$SCRIPT"
    [ "$status" -ne 0 ]
    [[ "$output" == *"ecs.service is '$state' after cleanup, not 'disabled'"* ]]
  done
}

@test "removes the ECS agent state but keeps its directory" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ -d "$ROOT/var/lib/ecs/data" ]
  [ -z "$(ls -A "$ROOT/var/lib/ecs/data")" ]
}

@test "removes SSH host keys, authorized_keys and shell history, and keeps sshd_config" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ -z "$(find "$ROOT/etc/ssh" -name 'ssh_host_*')" ]
  [ -e "$ROOT/etc/ssh/sshd_config" ]
  [ ! -e "$ROOT/home/ec2-user/.ssh/authorized_keys" ]
  [ ! -e "$ROOT/root/.ssh/authorized_keys" ]
  [ ! -e "$ROOT/home/ec2-user/.bash_history" ]
}

@test "empties /etc/machine-id without deleting it and clears cloud-init state" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ -f "$ROOT/etc/machine-id" ]
  [ ! -s "$ROOT/etc/machine-id" ]
  [ ! -e "$ROOT/var/lib/systemd/random-seed" ]
  grep -qx 'cloud-init clean --logs --seed' "$STUB_LOG"
}

@test "removes build logs: ECS logs and rotated copies go, live logs are emptied" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ -z "$(ls -A "$ROOT/var/log/ecs")" ]
  [ ! -e "$ROOT/var/log/messages-20261126" ]
  [ ! -e "$ROOT/var/log/cloud-init.log.1" ]
  [ -f "$ROOT/var/log/messages" ]
  [ ! -s "$ROOT/var/log/messages" ]
  [ -z "$(ls -A "$ROOT/var/log/journal")" ]
  grep -qx 'journalctl --vacuum-time=1s' "$STUB_LOG"
}

@test "fails the build when a step fails" {
  stub docker 'exit 1'
  run "$SCRIPT"
  [ "$status" -ne 0 ]
}
