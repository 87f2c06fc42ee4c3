#!/usr/bin/env bats
# buildspec/bake-ami.yml: its structure, its agreement with functions/lib/contracts/index.ts, and a
# run of its pre_build and build commands with stub packer and aws commands.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

BUILDSPEC="$REPO_ROOT/buildspec/bake-ami.yml"
CONTRACTS="$REPO_ROOT/functions/lib/contracts/index.ts"

# Converted once per file: starting a YAML reader costs most of a second, per test it was a third of this file's time.
setup_file() {
  yaml_to_json "$BUILDSPEC" >"$BATS_FILE_TMPDIR/buildspec.json"
}

setup() {
  BUILDSPEC_JSON="$BATS_FILE_TMPDIR/buildspec.json"
}

# Prints the string values of `export const NAME = { ... }` in contracts.ts, one per line.
contract_values() {
  awk -v name="$1" '
    $0 ~ "^export const " name " = \\{" { inside = 1; next }
    inside && /^}/ { exit }
    inside { print }
  ' "$CONTRACTS" | grep -v '^[[:space:]]*/\?\*' | sed -nE "s/.*: '([^']+)'.*/\1/p"
}

# Prints the commands of one phase, one per line.
phase_commands() {
  jq -r --arg phase "$1" '.phases[$phase].commands[]' "$BUILDSPEC_JSON"
}

@test "runs every command in bash and aborts the build on the first failing phase" {
  [ "$(jq -r '.version' "$BUILDSPEC_JSON")" = "0.2" ]
  [ "$(jq -r '.env.shell' "$BUILDSPEC_JSON")" = "bash" ]
  [ "$(jq -r '[.phases[] | .["on-failure"]] | unique | join(",")' "$BUILDSPEC_JSON")" = "ABORT" ]
}

@test "exports exactly BUILD_EXPORTS of contracts.ts" {
  local expected
  expected="$(contract_values BUILD_EXPORTS | sort)"
  [ -n "$expected" ]
  [ "$(jq -r '.env["exported-variables"][]' "$BUILDSPEC_JSON" | sort)" = "$expected" ]
}

@test "buildspec/packer-vars.sh reads every BUILD_OVERRIDES and BUILD_PROJECT_ENV variable" {
  local name names
  names="$(contract_values BUILD_OVERRIDES; contract_values BUILD_PROJECT_ENV)"
  [ "$(wc -l <<<"$names")" -ge 10 ]
  for name in $names; do
    grep -q "\${$name:-" "$REPO_ROOT/buildspec/packer-vars.sh" || {
      echo "packer-vars.sh does not read $name" >&2
      return 1
    }
  done
}

@test "installs the pinned Packer and runs init, validate and build on packer/" {
  grep -q '^buildspec/install-packer.sh ' <<<"$(phase_commands install)"
  grep -q '^packer init packer/$' <<<"$(phase_commands pre_build)"
  grep -q '^packer validate .*-var-file=.build/packer.pkrvars.json .*packer/$' <<<"$(phase_commands pre_build)"
  grep -q '^packer build .*-var-file=.build/packer.pkrvars.json .*packer/$' <<<"$(phase_commands build)"
}

@test "reads the AMI from the manifest with read-manifest.sh, after packer build, and loads its output" {
  local build
  build="$(phase_commands build)"
  local packer_line manifest_line source_line
  packer_line="$(grep -n '^packer build ' <<<"$build" | cut -d: -f1)"
  manifest_line="$(grep -n '^buildspec/read-manifest.sh "\$PACKER_OUTPUT_DIR/manifest.json" .*> .build/ami.env$' <<<"$build" | cut -d: -f1)"
  source_line="$(grep -n '^source .build/ami.env$' <<<"$build" | cut -d: -f1)"
  [ -n "$packer_line" ] && [ -n "$manifest_line" ] && [ -n "$source_line" ]
  ((packer_line < manifest_line && manifest_line < source_line))
}

@test "every script the buildspec calls exists and is executable" {
  local script
  for script in $(jq -r '.phases[].commands[]' "$BUILDSPEC_JSON" | grep -oE 'buildspec/[a-z-]+\.sh' | sort -u); do
    [ -x "$REPO_ROOT/$script" ] || {
      echo "$script is missing or not executable" >&2
      return 1
    }
  done
}

# Runs the pre_build and build commands in one bash (CodeBuild 0.2 keeps the shell state
# between commands), then prints the exported variables.
run_build_phases() {
  local work="$BATS_TEST_TMPDIR/src"
  mkdir -p "$work"
  ln -s "$REPO_ROOT/buildspec" "$work/buildspec"
  local script="$BATS_TEST_TMPDIR/phases.sh"
  {
    echo 'set -eo pipefail'
    jq -r '.env.variables | to_entries[] | "export \(.key)=\(.value | @sh)"' "$BUILDSPEC_JSON"
    phase_commands pre_build
    phase_commands build
    printf '%s\n' 'printf "EXPORTED %s=%s\n" AMI_ID "$AMI_ID" AMI_REGION "$AMI_REGION" SOURCE_AMI_ID "$SOURCE_AMI_ID"'
  } >"$script"
  run env -C "$work" AWS_REGION=us-east-1 CODEBUILD_SRC_DIR="$work" \
    SOURCE_AMI=ami-0abcdef1234567890 BUILD_ID=base-ami-2026-11-26 GIT_COMMIT=abc123 bash "$script"
}

stub_packer_writing() {
  local manifest="$1"
  stub packer "
if [[ \"\$1\" == build ]]; then
  out=''
  while (( \$# )); do
    [[ \"\$1\" == -var && \"\$2\" == output_directory=* ]] && out=\"\${2#output_directory=}\"
    shift
  done
  [[ -n \"\$out\" ]] || { echo 'packer stub: no output_directory' >&2; exit 1; }
  cp '$manifest' \"\$out/manifest.json\"
  cp '$REPO_ROOT/test/bats/fixtures/versions.json' \"\$out/image-versions.json\"
fi"
}

@test "a run of its commands exports the AMI from the manifest and tags it with the versions" {
  setup_stubs
  stub_packer_writing "$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json"
  stub aws 'case "$2" in describe-images) echo "snap-0aaaaaaaaaaaaaaa1	snap-0bbbbbbbbbbbbbbb2" ;; esac'
  run_build_phases
  [ "$status" -eq 0 ]
  [[ "$output" == *"EXPORTED AMI_ID=ami-0123456789abcdef0"* ]]
  [[ "$output" == *"EXPORTED AMI_REGION=us-east-1"* ]]
  [[ "$output" == *"EXPORTED SOURCE_AMI_ID=ami-0abcdef1234567890"* ]]
  grep -qx 'aws ec2 create-tags --region us-east-1 --resources ami-0123456789abcdef0 snap-0aaaaaaaaaaaaaaa1 snap-0bbbbbbbbbbbbbbb2 --tags Key=EcsAgentVersion,Value=1.99.1 Key=DockerVersion,Value=25.0.14 Key=OsRelease,Value=2023.9.20251110' "$STUB_LOG"
  grep -q '^packer init packer/' "$STUB_LOG"
  grep -q '^packer validate ' "$STUB_LOG"
  [ "$(jq -r '.source_ami' "$BATS_TEST_TMPDIR/src/.build/packer.pkrvars.json")" = "ami-0abcdef1234567890" ]
}

@test "a run of its commands fails, exporting nothing, when the manifest has no AMI for the last run" {
  setup_stubs
  jq '.last_run_uuid = "5e1d0c2b-0000-4000-8000-000000000000"' \
    "$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json" >"$BATS_TEST_TMPDIR/failed.json"
  stub_packer_writing "$BATS_TEST_TMPDIR/failed.json"
  stub aws
  run_build_phases
  [ "$status" -ne 0 ]
  [[ "$output" == *"no build for the last run"* ]]
  [[ "$output" != *"EXPORTED"* ]]
  refute_line_in "$STUB_LOG" '^aws ec2 create-tags'
}

@test "a build started without SOURCE_AMI or BUILD_ID stops before Packer with a clear message" {
  setup_stubs
  stub_packer_writing "$REPO_ROOT/test/bats/fixtures/manifest-several-runs.json"
  stub aws
  local work="$BATS_TEST_TMPDIR/src"
  mkdir -p "$work"
  ln -s "$REPO_ROOT/buildspec" "$work/buildspec"
  {
    echo 'set -eo pipefail'
    phase_commands pre_build
  } >"$BATS_TEST_TMPDIR/phases.sh"
  run env -C "$work" AWS_REGION=us-east-1 SOURCE_AMI= BUILD_ID= bash "$BATS_TEST_TMPDIR/phases.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"SOURCE_AMI and BUILD_ID are empty"* ]]
  [ ! -s "$STUB_LOG" ]
}
