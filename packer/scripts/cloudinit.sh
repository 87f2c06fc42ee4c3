#!/usr/bin/env bash
# Stops cloud-init from updating or upgrading packages at boot. In a private subnet the
# instance reaches the package repositories only through the HTTP proxy that the first-run
# script configures, which runs after cloud-init's package step: the upgrade would hang or
# fail on every boot. The image is patched at bake time instead (packages.sh).
#
# The two top-level keys are set in /etc/cloud/cloud.cfg (added when missing, replaced when
# present) and replaced in any /etc/cloud/cloud.cfg.d/*.cfg that sets them, because those
# files are merged after cloud.cfg and would otherwise win. Comments and nested keys are
# left alone, and a second run changes nothing.
#
# Test seam: CLOUD_CFG_ROOT (default /) prefixes both paths.
set -euo pipefail

readonly CLOUD_CFG_ROOT="${CLOUD_CFG_ROOT:-/}"

die() {
  printf 'cloudinit.sh: error: %s\n' "$*" >&2
  exit 1
}

# set_top_level_key FILE KEY VALUE MODE: MODE "upsert" appends the key when the file lacks
# it; "replace" only rewrites existing occurrences.
set_top_level_key() {
  local file="$1" key="$2" value="$3" mode="$4" tmp
  tmp="$(mktemp "${file}.XXXXXX")"
  awk -v key="$key" -v value="$value" -v mode="$mode" '
    BEGIN { found = 0 }
    $0 ~ "^" key ":([[:space:]]|$)" { print key ": " value; found = 1; next }
    { print }
    END { if (!found && mode == "upsert") print key ": " value }
  ' "$file" >"$tmp"
  chmod --reference="$file" "$tmp"
  if cmp -s "$file" "$tmp"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$file"
  fi
}

configure_cloud_init() {
  local root="${1%/}" cfg file
  cfg="$root/etc/cloud/cloud.cfg"
  [[ -f "$cfg" ]] || die "$cfg not found; is cloud-init installed?"

  set_top_level_key "$cfg" repo_update false upsert
  set_top_level_key "$cfg" repo_upgrade none upsert

  shopt -s nullglob
  for file in "$root"/etc/cloud/cloud.cfg.d/*.cfg; do
    set_top_level_key "$file" repo_update false replace
    set_top_level_key "$file" repo_upgrade none replace
  done
  shopt -u nullglob
}

main() {
  configure_cloud_init "$CLOUD_CFG_ROOT"
  printf 'cloudinit.sh: cloud-init will neither update nor upgrade packages at boot\n'
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
