#!/usr/bin/env bats
# packer/scripts/cloudinit.sh: no package update or upgrade at boot, added or replaced, idempotently.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/cloudinit.sh"

setup() {
  ROOT="$BATS_TEST_TMPDIR/root"
  mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
  export CLOUD_CFG_ROOT="$ROOT"
  CFG="$ROOT/etc/cloud/cloud.cfg"
}

@test "adds both keys when cloud.cfg has neither" {
  printf 'disable_root: true\ndatasource_list: [ Ec2, None ]\n' >"$CFG"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  diff -u - "$CFG" <<'EOF'
disable_root: true
datasource_list: [ Ec2, None ]
repo_update: false
repo_upgrade: none
EOF
}

@test "replaces existing values in place and leaves comments, lookalike and nested keys alone" {
  cat >"$CFG" <<'EOF'
# repo_upgrade: security is the vendor default
repo_upgrade: security
repo_upgrade_exclude:
 - kernel
 - nvidia*
repo_update: true
system_info:
  repo_upgrade: security
EOF
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  diff -u - "$CFG" <<'EOF'
# repo_upgrade: security is the vendor default
repo_upgrade: none
repo_upgrade_exclude:
 - kernel
 - nvidia*
repo_update: false
system_info:
  repo_upgrade: security
EOF
}

@test "replaces the keys in cloud.cfg.d files, which cloud-init merges after cloud.cfg" {
  printf 'repo_upgrade: none\nrepo_update: false\n' >"$CFG"
  printf 'repo_upgrade: security\n' >"$ROOT/etc/cloud/cloud.cfg.d/50-vendor.cfg"
  printf 'ssh_pwauth: false\n' >"$ROOT/etc/cloud/cloud.cfg.d/60-other.cfg"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ "$(cat "$ROOT/etc/cloud/cloud.cfg.d/50-vendor.cfg")" = "repo_upgrade: none" ]
  [ "$(cat "$ROOT/etc/cloud/cloud.cfg.d/60-other.cfg")" = "ssh_pwauth: false" ]
}

@test "a second run changes nothing" {
  printf 'repo_upgrade: security\n# end\n' >"$CFG"
  printf 'repo_update: true\n' >"$ROOT/etc/cloud/cloud.cfg.d/50-vendor.cfg"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  local first
  first="$(snapshot_tree "$ROOT")"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ "$(snapshot_tree "$ROOT")" = "$first" ]
  [ "$(grep -c '^repo_upgrade:' "$CFG")" -eq 1 ]
  [ "$(grep -c '^repo_update:' "$CFG")" -eq 1 ]
}

@test "keeps the file mode of cloud.cfg" {
  printf 'disable_root: true\n' >"$CFG"
  chmod 0640 "$CFG"
  run "$SCRIPT"
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$CFG")" = "640" ]
}

@test "fails when cloud-init is not installed" {
  run "$SCRIPT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"cloud.cfg not found"* ]]
}
