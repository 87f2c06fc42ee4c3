#!/usr/bin/env bash
# Installs the first-run script and, beside it, await-registration.sh, which firstrun.sh hands
# the wait for the ECS agent and the cfn-signal to (it looks for it in its own directory).
#
# The vendor units (ecs.service, docker.service, ...) are left exactly as the packages ship
# them: firstrun.sh never waits on them from inside cloud-final, so their After=cloud-final
# ordering does no harm, and an ecs-init update (at a bake or on an instance) keeps changing
# the unit the instance really runs. Nothing here reads unit properties either, so it does not
# matter that ecs.service is masked during the bake (its FragmentPath is /dev/null then).
#
# Inputs: FIRSTRUN_SOURCE and AWAIT_REGISTRATION_SOURCE (the uploaded scripts), FIRSTRUN_PATH
# (where the image keeps firstrun.sh).
set -euo pipefail
shopt -s inherit_errexit

die() {
  printf 'firstrun-install.sh: error: %s\n' "$*" >&2
  exit 1
}

install_script() {
  local source="$1" target="$2"
  install -D -o root -g root -m 0755 "$source" "$target"
  rm -f "$source"
  printf 'firstrun-install.sh: installed %s\n' "$target"
}

main() {
  local firstrun_source="${FIRSTRUN_SOURCE:?FIRSTRUN_SOURCE (the uploaded firstrun.sh) is required}"
  local await_source="${AWAIT_REGISTRATION_SOURCE:?AWAIT_REGISTRATION_SOURCE (the uploaded await-registration.sh) is required}"
  local target="${FIRSTRUN_PATH:?FIRSTRUN_PATH (where the image keeps firstrun.sh) is required}"

  # A script bash cannot parse fails the bake instead of every instance's first boot; both are
  # checked before either is installed.
  bash -n "$firstrun_source" || die "$firstrun_source is not a valid bash script"
  bash -n "$await_source" || die "$await_source is not a valid bash script"
  install_script "$await_source" "$(dirname "$target")/await-registration.sh"
  install_script "$firstrun_source" "$target"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
