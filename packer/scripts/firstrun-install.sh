#!/usr/bin/env bash
# Installs the first-run script and lets it start Docker and the ECS agent.
#
# The ECS-optimized AMI orders ecs.service (and, per the ECS documentation, Docker too)
# After=cloud-final.service. The cluster stack runs cfn-init, and so firstrun.sh, from user
# data, which is part of cloud-final: a start job for ECS queued there waits for cloud-final,
# cloud-final waits for firstrun.sh, and firstrun.sh waits for the agent to register. Every
# instance would fail its health check. A drop-in cannot remove an ordering, so each unit
# file or vendor drop-in that has one is copied to /etc/systemd/system without it (the copy
# is made from this image's own units, at bake time). What the ordering protected, ECS not
# starting before its configuration exists, is kept by cleanup.sh: both services are
# disabled in the image and only firstrun.sh, after writing /etc/ecs/ecs.config, starts them.
#
# Test seams: SYSTEMD_ETC_DIR (default /etc/systemd/system) and systemctl on PATH.
set -euo pipefail
shopt -s inherit_errexit

readonly SYSTEMD_ETC_DIR="${SYSTEMD_ETC_DIR:-/etc/systemd/system}"
readonly ORDERED_UNITS=(ecs.service docker.service docker.socket containerd.service)

die() {
  printf 'firstrun-install.sh: error: %s\n' "$*" >&2
  exit 1
}

# Filters a unit file on stdin: removes cloud-final.service from After= lists (only the
# ordering blocks a start job) and drops lines left empty by that. Everything else, including
# comments that mention cloud-final, passes through untouched.
strip_cloud_final_ordering() {
  awk '
    /^[[:space:]]*After[[:space:]]*=/ {
      eq = index($0, "=")
      key = substr($0, 1, eq - 1)
      value = substr($0, eq + 1)
      n = split(value, items, /[[:space:]]+/)
      kept = ""
      removed = 0
      for (i = 1; i <= n; i++) {
        if (items[i] == "") continue
        if (items[i] == "cloud-final.service") { removed = 1; continue }
        kept = (kept == "" ? items[i] : kept " " items[i])
      }
      if (!removed) { print; next }
      if (kept != "") print key "=" kept
      next
    }
    { print }
  '
}

# Prints where the override of unit file $1 must live under SYSTEMD_ETC_DIR.
override_path_for() {
  local file="$1"
  case "$file" in
    "$SYSTEMD_ETC_DIR"/*) printf '%s\n' "$file" ;;
    */systemd/system/*) printf '%s/%s\n' "$SYSTEMD_ETC_DIR" "${file#*/systemd/system/}" ;;
    *) die "unexpected unit file location: $file" ;;
  esac
}

# Writes overrides for every file of unit $1 that orders it after cloud-final.
override_unit_files() {
  local unit="$1" fragment dropins file target tmp
  fragment="$(systemctl show -P FragmentPath "$unit")"
  dropins="$(systemctl show -P DropInPaths "$unit")"
  local -a files=()
  [[ -n "$fragment" ]] && files+=("$fragment")
  if [[ -n "$dropins" ]]; then
    local -a dropin_list
    read -r -a dropin_list <<<"$dropins"
    files+=("${dropin_list[@]}")
  fi
  for file in "${files[@]}"; do
    [[ -f "$file" ]] || continue
    tmp="$(mktemp)"
    strip_cloud_final_ordering <"$file" >"$tmp"
    if cmp -s "$file" "$tmp"; then
      rm -f "$tmp"
      continue
    fi
    target="$(override_path_for "$file")"
    mkdir -p "$(dirname "$target")"
    install -m 0644 "$tmp" "$target"
    rm -f "$tmp"
    printf 'firstrun-install.sh: %s: wrote %s without the cloud-final ordering\n' "$unit" "$target"
  done
}

main() {
  local source="${FIRSTRUN_SOURCE:?FIRSTRUN_SOURCE (the uploaded firstrun.sh) is required}"
  local target="${FIRSTRUN_PATH:?FIRSTRUN_PATH (where the image keeps firstrun.sh) is required}"
  local unit after

  bash -n "$source" || die "$source is not a valid bash script"
  install -D -o root -g root -m 0755 "$source" "$target"
  rm -f "$source"
  printf 'firstrun-install.sh: installed %s\n' "$target"

  for unit in "${ORDERED_UNITS[@]}"; do
    override_unit_files "$unit"
  done
  systemctl daemon-reload
  for unit in "${ORDERED_UNITS[@]}"; do
    after="$(systemctl show -P After "$unit")"
    if [[ " $after " == *" cloud-final.service "* ]]; then
      die "$unit is still ordered after cloud-final.service; firstrun.sh could not start it"
    fi
  done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
