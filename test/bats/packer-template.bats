#!/usr/bin/env bats
# packer/: agreement with functions/lib/contracts/index.ts, and scripts/check-packer.sh, including
# that it fails when a security setting is dropped.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

TEMPLATE="$REPO_ROOT/packer/ecs-ami.pkr.hcl"
CONTRACTS="$REPO_ROOT/functions/lib/contracts/index.ts"

# Prints the keys of the `image_tags = { ... }` map of the template, one per line.
template_tag_keys() {
  awk '
    /^[[:space:]]*image_tags[[:space:]]*=[[:space:]]*\{/ { inside = 1; next }
    inside && /^[[:space:]]*\}/ { exit }
    inside && /=/ { sub(/^[[:space:]]*/, ""); sub(/[[:space:]]*=.*/, ""); print }
  ' "$TEMPLATE"
}

contract_tag_keys() {
  awk '
    /^export const AMI_TAGS = \{/ { inside = 1; next }
    inside && /^}/ { exit }
    inside { print }
  ' "$CONTRACTS" | grep -v '^[[:space:]]*/\?\*' | sed -nE "s/.*: '([^']+)'.*/\1/p"
}

# Copies what scripts/check-packer.sh needs into a scratch tree and prints its path.
scratch_copy() {
  local copy="$BATS_TEST_TMPDIR/repo"
  mkdir -p "$copy/scripts"
  cp -R "$REPO_ROOT/packer" "$REPO_ROOT/buildspec" "$copy/"
  cp "$REPO_ROOT/scripts/check-packer.sh" "$REPO_ROOT/scripts/ensure-tools.sh" "$copy/scripts/"
  printf '%s\n' "$copy"
}

@test "the AMI tag keys are exactly AMI_TAGS of contracts.ts" {
  local expected
  expected="$(contract_tag_keys | sort)"
  [ "$(wc -l <<<"$expected")" -eq 12 ]
  [ "$(template_tag_keys | sort)" = "$expected" ]
}

@test "the same tags go on the AMI and on its snapshots, marked as made by the pipeline" {
  grep -Eq '^[[:space:]]*tags[[:space:]]*=[[:space:]]*local\.image_tags$' "$TEMPLATE"
  grep -Eq '^[[:space:]]*snapshot_tags[[:space:]]*=[[:space:]]*local\.image_tags$' "$TEMPLATE"
  local service
  service="$(sed -nE "s/^export const SERVICE_NAME = '([^']+)';/\1/p" "$CONTRACTS")"
  [ -n "$service" ]
  grep -Eq "^[[:space:]]*ManagedBy[[:space:]]*=[[:space:]]*\"$service\"$" "$TEMPLATE"
}

@test "the first-run script goes where contracts.ts says the cluster stack runs it" {
  local path
  path="$(sed -nE "s/^export const FIRSTRUN_PATH_IN_IMAGE = '([^']+)';/\1/p" "$CONTRACTS")"
  [ -n "$path" ]
  grep -Eq "^[[:space:]]*firstrun_path[[:space:]]*=[[:space:]]*\"$path\"$" "$TEMPLATE"
}

@test "every provisioner script and file the template names exists, scripts executable" {
  local ref refs
  refs="$(grep -oE '\$\{path\.root\}/[^"]+' "$TEMPLATE" | sed 's|${path.root}/||' | sort -u)"
  [ "$(wc -l <<<"$refs")" -ge 9 ]
  while IFS= read -r ref; do
    [ -f "$REPO_ROOT/packer/$ref" ] || {
      echo "packer/$ref does not exist" >&2
      return 1
    }
    [[ "$ref" != *.sh ]] || [ -x "$REPO_ROOT/packer/$ref" ]
  done <<<"$refs"
}

# Prints the build's user data: the body of the build_user_data heredoc, unindented like <<-EOT.
build_user_data() {
  sed -n '/^[[:space:]]*build_user_data[[:space:]]*=[[:space:]]*<<-EOT$/,/^[[:space:]]*EOT$/p' "$TEMPLATE" |
    sed '1d;$d' | sed -E 's/^    //'
}

@test "the build instance's user data masks the ECS agent from its first boot (cloud-config bootcmd, runtime only)" {
  grep -Eq '^[[:space:]]*user_data[[:space:]]*=[[:space:]]*local\.build_user_data$' "$TEMPLATE"
  build_user_data >"$BATS_TEST_TMPDIR/user-data"
  [ "$(head -n 1 "$BATS_TEST_TMPDIR/user-data")" = "#cloud-config" ]
  yaml_to_json "$BATS_TEST_TMPDIR/user-data" >"$BATS_TEST_TMPDIR/user-data.json"
  [ "$(jq -c . "$BATS_TEST_TMPDIR/user-data.json")" = '{"bootcmd":[["systemctl","mask","--runtime","ecs.service"]]}' ]
}

@test "cleanup.sh unmasks what the build's user data masked" {
  local cleanup="$REPO_ROOT/packer/scripts/cleanup.sh"
  build_user_data | grep -Fqx -- '  - [systemctl, mask, --runtime, ecs.service]'
  grep -Eq '^[[:space:]]*systemctl unmask --runtime ecs\.service$' "$cleanup"
}

@test "no provisioner before cleanup reads ecs.service's unit properties, which are /dev/null's while it is masked" {
  local script
  for script in "$REPO_ROOT"/packer/scripts/*.sh; do
    [[ "$script" == */cleanup.sh ]] && continue
    grep -Ev '^[[:space:]]*#' "$script" >"$BATS_TEST_TMPDIR/code"
    refute_line_in "$BATS_TEST_TMPDIR/code" 'systemctl (show|cat)|FragmentPath|DropInPaths'
  done
}

@test "scripts/check-packer.sh fails when the build no longer masks the ECS agent" {
  local copy
  copy="$(scratch_copy)"
  sed -i '/^[[:space:]]*user_data[[:space:]]*=/d' "$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"masks the ECS agent"* ]]
}

@test "scripts/check-packer.sh passes on the template" {
  run "$REPO_ROOT/scripts/check-packer.sh"
  [ "$status" -eq 0 ]
  [[ "$output" == *"security settings: ok"* ]]
}

@test "scripts/check-packer.sh fails when IMDSv2 is no longer required" {
  local copy
  copy="$(scratch_copy)"
  sed -i 's/http_tokens                 = "required"/http_tokens                 = "optional"/' "$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"IMDSv2 on the build instance"* ]]
}

@test "scripts/check-packer.sh fails when a volume is no longer encrypted" {
  local copy
  copy="$(scratch_copy)"
  sed -i '0,/encrypted             = true/s//encrypted             = false/' "$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"must set encrypted = true"* ]]
}

@test "scripts/check-packer.sh fails when SSH is opened to the internet" {
  local copy
  copy="$(scratch_copy)"
  sed -i 's|temporary_security_group_source_cidrs     = var.temporary_security_group_source_cidrs|temporary_security_group_source_cidrs     = ["0.0.0.0/0"]|' "$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"whole internet"* ]]
}

@test "scripts/check-packer.sh fails on a syntax error and on unformatted HCL" {
  local copy
  copy="$(scratch_copy)"
  printf 'locals {\n  broken =\n}\n' >>"$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]

  copy="$(scratch_copy)"
  sed -i 's/^  region = var.region$/  region    =    var.region/' "$copy/packer/ecs-ami.pkr.hcl"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not formatted"* ]]
}

@test "scripts/check-packer.sh fails when packer-vars.sh sets a variable the template lacks" {
  local copy
  copy="$(scratch_copy)"
  sed -i 's/^        stage: \$stage$/        stage: $stage,\n        no_such_variable: "x"/' "$copy/buildspec/packer-vars.sh"
  grep -q no_such_variable "$copy/buildspec/packer-vars.sh"
  run "$copy/scripts/check-packer.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not declare"* ]]
}
