#!/usr/bin/env bats
# packer/scripts/firstrun-install.sh: the first-run script installed, and Docker and ECS freed
# from the cloud-final ordering that would deadlock them under cfn-init.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/firstrun-install.sh"

setup() {
  setup_stubs
  VENDOR="$BATS_TEST_TMPDIR/usr/lib/systemd/system"
  export SYSTEMD_ETC_DIR="$BATS_TEST_TMPDIR/etc/systemd/system"
  mkdir -p "$VENDOR" "$SYSTEMD_ETC_DIR"
}

call() {
  run bash -c 'source "$1"; shift; "$@"' _ "$SCRIPT" "$@"
}

# Filters file $1 through strip_cloud_final_ordering.
strip_file() {
  run bash -c 'source "$1"; strip_cloud_final_ordering <"$2"' _ "$SCRIPT" "$1"
}

@test "drops an After= line that only names cloud-final" {
  cat >"$BATS_TEST_TMPDIR/unit" <<'UNIT'
[Unit]
Description=Amazon Elastic Container Service - container agent
Wants=docker.service
After=docker.service
After=cloud-final.service

[Service]
ExecStart=/usr/libexec/amazon-ecs-init start
UNIT
  strip_file "$BATS_TEST_TMPDIR/unit"
  [ "$status" -eq 0 ]
  diff -u - <(printf '%s\n' "$output") <<'UNIT'
[Unit]
Description=Amazon Elastic Container Service - container agent
Wants=docker.service
After=docker.service

[Service]
ExecStart=/usr/libexec/amazon-ecs-init start
UNIT
}

@test "keeps the other units of a shared After= line, comments and non-ordering lines" {
  cat >"$BATS_TEST_TMPDIR/unit" <<'UNIT'
# ordered after cloud-final.service by the vendor
After=network-online.target cloud-final.service containerd.service
Wants=cloud-final.service
UNIT
  strip_file "$BATS_TEST_TMPDIR/unit"
  [ "$status" -eq 0 ]
  diff -u - <(printf '%s\n' "$output") <<'UNIT'
# ordered after cloud-final.service by the vendor
After=network-online.target containerd.service
Wants=cloud-final.service
UNIT
}

@test "writes an override in /etc only for the unit files that have the ordering" {
  printf '[Unit]\nAfter=docker.service\nAfter=cloud-final.service\n' >"$VENDOR/ecs.service"
  mkdir -p "$VENDOR/docker.service.d"
  printf '[Unit]\nAfter=cloud-final.service\n' >"$VENDOR/docker.service.d/10-cloud.conf"
  printf '[Unit]\nAfter=network-online.target\n' >"$VENDOR/docker.service"
  stub systemctl "
case \"\$3:\$4\" in
  FragmentPath:ecs.service) echo '$VENDOR/ecs.service' ;;
  FragmentPath:docker.service) echo '$VENDOR/docker.service' ;;
  DropInPaths:docker.service) echo '$VENDOR/docker.service.d/10-cloud.conf' ;;
esac"
  call override_unit_files ecs.service
  [ "$status" -eq 0 ]
  call override_unit_files docker.service
  [ "$status" -eq 0 ]
  [ "$(cat "$SYSTEMD_ETC_DIR/ecs.service")" = $'[Unit]\nAfter=docker.service' ]
  [ "$(cat "$SYSTEMD_ETC_DIR/docker.service.d/10-cloud.conf")" = "[Unit]" ]
  [ ! -e "$SYSTEMD_ETC_DIR/docker.service" ]
}

@test "installs firstrun.sh and fails the build while a unit still waits for cloud-final" {
  printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/firstrun.sh"
  stub install 'mkdir -p "$(dirname "${!#}")"; cp "${@: -2:1}" "${!#}"; chmod 0755 "${!#}"'
  stub systemctl 'if [[ "$3" == After && "$4" == ecs.service ]]; then echo "docker.service cloud-final.service"; fi'
  FIRSTRUN_SOURCE="$BATS_TEST_TMPDIR/firstrun.sh" FIRSTRUN_PATH="$BATS_TEST_TMPDIR/opt/firstrun.sh" run "$SCRIPT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"ecs.service is still ordered after cloud-final.service"* ]]
  grep -q '^install -D -o root -g root -m 0755 ' "$STUB_LOG"
  [ -x "$BATS_TEST_TMPDIR/opt/firstrun.sh" ]
}

@test "succeeds once no unit waits for cloud-final" {
  printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/firstrun.sh"
  stub install 'mkdir -p "$(dirname "${!#}")"; cp "${@: -2:1}" "${!#}"'
  stub systemctl 'if [[ "$3" == After ]]; then echo "docker.service network-online.target"; fi'
  FIRSTRUN_SOURCE="$BATS_TEST_TMPDIR/firstrun.sh" FIRSTRUN_PATH="$BATS_TEST_TMPDIR/opt/firstrun.sh" run "$SCRIPT"
  [ "$status" -eq 0 ]
  grep -qx 'systemctl daemon-reload' "$STUB_LOG"
}

@test "refuses a first-run script that is not valid bash" {
  printf 'if then fi (\n' >"$BATS_TEST_TMPDIR/firstrun.sh"
  stub install
  stub systemctl
  FIRSTRUN_SOURCE="$BATS_TEST_TMPDIR/firstrun.sh" FIRSTRUN_PATH="$BATS_TEST_TMPDIR/opt/firstrun.sh" run "$SCRIPT"
  [ "$status" -ne 0 ]
  refute_line_in "$STUB_LOG" '^install '
}
