#!/usr/bin/env bash
# Formats the second EBS volume (ext4, label "docker") and mounts it at /data through
# /etc/fstab by label, so Docker volumes do not fill the root file system.
#
# The volume is requested as DATA_DEVICE_NAME (for example /dev/xvdcy) in the block-device
# mapping, but on Nitro instances it appears as an NVMe disk (/dev/nvme1n1) whose number
# depends on probe order. Amazon Linux 2023 (amazon-ec2-utils udev rules) links the mapping
# name to the NVMe disk, so that link is tried first; Xen instances expose the name itself.
# Without a link, the one attached EBS disk with no partitions, no file system and no mount
# is used; anything ambiguous fails the build rather than formatting the wrong disk.
#
# Test seams: STORAGE_DEV_DIR (default /dev), FSTAB (default /etc/fstab), and the lsblk,
# blkid, mkfs.ext4, mount, findmnt and systemctl found on PATH.
set -euo pipefail
shopt -s inherit_errexit

DEV_DIR="${STORAGE_DEV_DIR:-/dev}"
FSTAB="${FSTAB:-/etc/fstab}"

die() {
  printf 'storage.sh: error: %s\n' "$*" >&2
  exit 1
}

log() {
  printf 'storage.sh: %s\n' "$*"
}

# Names under which the mapping name may show up: the xvd/sd spellings are interchangeable
# in EC2 block-device mappings.
mapping_name_candidates() {
  local name="${1##*/}" suffix
  case "$name" in
    xvd*) suffix="${name#xvd}" ;;
    sd*) suffix="${name#sd}" ;;
    *) suffix="" ;;
  esac
  if [[ -n "$suffix" ]]; then
    printf '%s\n' "$DEV_DIR/xvd$suffix" "$DEV_DIR/sd$suffix"
  else
    printf '%s\n' "$DEV_DIR/$name"
  fi
}

# Reads `lsblk -P -p -o NAME,TYPE,PKNAME,MOUNTPOINT,FSTYPE,MODEL` on stdin and prints the
# disks that are blank: no partitions or other children, no file system, not mounted, and
# not instance-store NVMe (which is never the volume we asked for).
blank_ebs_disks() {
  local line name type pkname mountpoint fstype model
  local -a disks=() parents=()
  local -A field
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    field=()
    while [[ "$line" =~ ^[[:space:]]*([A-Z_:-]+)=\"([^\"]*)\"(.*)$ ]]; do
      field["${BASH_REMATCH[1]}"]="${BASH_REMATCH[2]}"
      line="${BASH_REMATCH[3]}"
    done
    name="${field[NAME]:-}"
    type="${field[TYPE]:-}"
    pkname="${field[PKNAME]:-}"
    mountpoint="${field[MOUNTPOINT]:-}"
    fstype="${field[FSTYPE]:-}"
    model="${field[MODEL]:-}"
    [[ -n "$pkname" ]] && parents+=("$pkname")
    if [[ "$type" == "disk" && -z "$mountpoint" && -z "$fstype" && "$model" != *"Instance Storage"* ]]; then
      disks+=("$name")
    fi
  done
  local disk parent has_children
  for disk in "${disks[@]}"; do
    has_children=false
    for parent in "${parents[@]}"; do
      [[ "$parent" == "$disk" ]] && has_children=true
    done
    [[ "$has_children" == false ]] && printf '%s\n' "$disk"
  done
  return 0
}

# Prints the block device that backs the mapping name $1.
find_data_device() {
  local mapping_name="$1" candidate
  while IFS= read -r candidate; do
    if [[ -e "$candidate" ]]; then
      readlink -f "$candidate"
      return 0
    fi
  done < <(mapping_name_candidates "$mapping_name")

  local listing
  listing="$(lsblk -P -p -o NAME,TYPE,PKNAME,MOUNTPOINT,FSTYPE,MODEL)" ||
    die "lsblk failed; cannot look for the data volume"
  local -a blank=()
  mapfile -t blank < <(blank_ebs_disks <<<"$listing")
  case "${#blank[@]}" in
    1) printf '%s\n' "${blank[0]}" ;;
    0) die "no device for $mapping_name: no $DEV_DIR link and no blank EBS disk attached" ;;
    *) die "no device link for $mapping_name and several blank disks (${blank[*]}); refusing to guess which one to format" ;;
  esac
}

# Rewrites FSTAB so it holds exactly one entry for the data volume; other lines stay as they are.
ensure_fstab_entry() {
  local fstab="$1" label="$2" mount_point="$3"
  local entry tmp
  entry="LABEL=${label}	${mount_point}	ext4	defaults,noatime,nofail	0	2"
  tmp="$(mktemp "${fstab}.XXXXXX")"
  if [[ -f "$fstab" ]]; then
    awk -v label="LABEL=${label}" -v mnt="$mount_point" '
      /^[[:space:]]*#/ || NF < 2 { print; next }
      $1 == label || $2 == mnt { next }
      { print }
    ' "$fstab" >"$tmp"
    chmod --reference="$fstab" "$tmp"
  else
    chmod 0644 "$tmp"
  fi
  printf '%s\n' "$entry" >>"$tmp"
  mv -f "$tmp" "$fstab"
}

# Formats DEVICE unless it already carries our file system; never formats anything else.
format_device() {
  local device="$1" label="$2" fstype current_label
  fstype="$(blkid -o value -s TYPE "$device" || true)"
  current_label="$(blkid -o value -s LABEL "$device" || true)"
  if [[ -z "$fstype" ]]; then
    log "formatting $device as ext4 with label $label"
    mkfs.ext4 -q -L "$label" "$device"
  elif [[ "$fstype" == "ext4" && "$current_label" == "$label" ]]; then
    log "$device already holds ext4 labelled $label"
  else
    die "$device already holds a $fstype file system (label '${current_label}'); refusing to format it"
  fi
}

main() {
  local mapping_name="${DATA_DEVICE_NAME:?DATA_DEVICE_NAME (the block-device mapping name of the data volume) is required}"
  local label="${DATA_LABEL:-docker}"
  local mount_point="${DATA_MOUNT_POINT:-/data}"
  local device

  command -v mkfs.ext4 >/dev/null 2>&1 || dnf install -y -q e2fsprogs

  device="$(find_data_device "$mapping_name")"
  log "data volume $mapping_name is $device"
  format_device "$device" "$label"
  ensure_fstab_entry "$FSTAB" "$label" "$mount_point"
  mkdir -p "$mount_point"
  systemctl daemon-reload
  findmnt --mountpoint "$mount_point" >/dev/null 2>&1 || mount "$mount_point"
  # Proves the fstab entry works now rather than at the first boot of a fleet instance.
  findmnt --mountpoint "$mount_point" --source "LABEL=$label" >/dev/null ||
    die "$mount_point is not mounted from LABEL=$label after mount"
  log "$mount_point mounted from LABEL=$label"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
