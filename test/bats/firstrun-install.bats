#!/usr/bin/env bats
# packer/scripts/firstrun-install.sh: the first-run script and await-registration.sh installed
# side by side, and the vendor units left alone.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/firstrun-install.sh"

setup() {
  setup_stubs
  # install -D -o root -g root -m MODE SOURCE TARGET, without needing root.
  stub install 'mkdir -p "$(dirname "${!#}")"; cp "${@: -2:1}" "${!#}"; chmod 0755 "${!#}"'
  stub systemctl
  printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/firstrun.sh"
  printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/await-registration.sh"
  export FIRSTRUN_SOURCE="$BATS_TEST_TMPDIR/firstrun.sh"
  export AWAIT_REGISTRATION_SOURCE="$BATS_TEST_TMPDIR/await-registration.sh"
  export FIRSTRUN_PATH="$BATS_TEST_TMPDIR/opt/ecs-ami-pipeline/firstrun.sh"
}

@test "installs firstrun.sh and await-registration.sh side by side, root-owned and executable" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  grep -qx "install -D -o root -g root -m 0755 $BATS_TEST_TMPDIR/firstrun.sh $FIRSTRUN_PATH" "$STUB_LOG"
  grep -qx "install -D -o root -g root -m 0755 $BATS_TEST_TMPDIR/await-registration.sh $BATS_TEST_TMPDIR/opt/ecs-ami-pipeline/await-registration.sh" "$STUB_LOG"
  [ -x "$FIRSTRUN_PATH" ]
  [ -x "$BATS_TEST_TMPDIR/opt/ecs-ami-pipeline/await-registration.sh" ]
  [ ! -e "$FIRSTRUN_SOURCE" ]
  [ ! -e "$AWAIT_REGISTRATION_SOURCE" ]
}

@test "leaves every unit alone: no systemctl call, no unit file written" {
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  refute_line_in "$STUB_LOG" '^systemctl '
  grep -Ev '^[[:space:]]*#' "$SCRIPT" >"$BATS_TEST_TMPDIR/code"
  refute_line_in "$BATS_TEST_TMPDIR/code" 'systemd/system|systemctl|FragmentPath|cloud-final'
}

@test "installs neither script when one of them is not valid bash" {
  local broken
  for broken in firstrun.sh await-registration.sh; do
    : >"$STUB_LOG"
    printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/firstrun.sh"
    printf '#!/usr/bin/env bash\ntrue\n' >"$BATS_TEST_TMPDIR/await-registration.sh"
    printf 'if then fi (\n' >"$BATS_TEST_TMPDIR/$broken"
    run "$SCRIPT"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$broken is not a valid bash script"* ]]
    refute_line_in "$STUB_LOG" '^install '
  done
}

@test "the real scripts pass its check" {
  cp "$REPO_ROOT/files/firstrun.sh" "$REPO_ROOT/files/await-registration.sh" "$BATS_TEST_TMPDIR/"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
}
