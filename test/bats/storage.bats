#!/usr/bin/env bats
# packer/scripts/storage.sh: finding the data volume, formatting it and the /etc/fstab entry.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/packer/scripts/storage.sh"

setup() {
  setup_stubs
  DEV="$BATS_TEST_TMPDIR/dev"
  mkdir -p "$DEV"
  export STORAGE_DEV_DIR="$DEV"
  export FSTAB="$BATS_TEST_TMPDIR/fstab"
}

# Runs one function of the script (sourced, so main does not run).
call() {
  run bash -c 'source "$1"; shift; "$@"' _ "$SCRIPT" "$@"
}

# lsblk -P output of a Nitro instance: root NVMe disk with partitions, plus $@ extra lines.
fake_lsblk() {
  local extra
  extra="$(printf '%s\n' "$@")"
  stub lsblk "cat <<'LSBLK'
NAME=\"/dev/nvme0n1\" TYPE=\"disk\" PKNAME=\"\" MOUNTPOINT=\"\" FSTYPE=\"\" MODEL=\"Amazon Elastic Block Store\"
NAME=\"/dev/nvme0n1p1\" TYPE=\"part\" PKNAME=\"/dev/nvme0n1\" MOUNTPOINT=\"/\" FSTYPE=\"xfs\" MODEL=\"\"
NAME=\"/dev/nvme0n1p128\" TYPE=\"part\" PKNAME=\"/dev/nvme0n1\" MOUNTPOINT=\"/boot/efi\" FSTYPE=\"vfat\" MODEL=\"\"
$extra
LSBLK"
}

@test "fstab: adds a nofail entry by label when there is none" {
  printf 'UUID=1234 / xfs defaults,noatime 1 1\n' >"$FSTAB"
  call ensure_fstab_entry "$FSTAB" docker /data
  [ "$status" -eq 0 ]
  diff -u - "$FSTAB" <<'EOF'
UUID=1234 / xfs defaults,noatime 1 1
LABEL=docker	/data	ext4	defaults,noatime,nofail	0	2
EOF
}

@test "fstab: replaces stale entries for the label or the mount point and keeps the rest" {
  cat >"$FSTAB" <<'EOF'
# /data used to be on xvdcy
UUID=1234 / xfs defaults,noatime 1 1
/dev/xvdcy /data ext4 defaults 0 0
LABEL=docker /mnt/old ext4 defaults 0 0
EOF
  call ensure_fstab_entry "$FSTAB" docker /data
  [ "$status" -eq 0 ]
  diff -u - "$FSTAB" <<'EOF'
# /data used to be on xvdcy
UUID=1234 / xfs defaults,noatime 1 1
LABEL=docker	/data	ext4	defaults,noatime,nofail	0	2
EOF
}

@test "fstab: a second run changes nothing" {
  printf 'UUID=1234 / xfs defaults,noatime 1 1\n' >"$FSTAB"
  call ensure_fstab_entry "$FSTAB" docker /data
  local first
  first="$(cat "$FSTAB")"
  call ensure_fstab_entry "$FSTAB" docker /data
  [ "$status" -eq 0 ]
  [ "$(cat "$FSTAB")" = "$first" ]
  [ "$(grep -c 'LABEL=docker' "$FSTAB")" -eq 1 ]
}

@test "device: follows the link AL2023 creates from the mapping name to the NVMe disk" {
  touch "$DEV/nvme1n1"
  ln -s nvme1n1 "$DEV/xvdcy"
  call find_data_device /dev/xvdcy
  [ "$status" -eq 0 ]
  [ "$output" = "$DEV/nvme1n1" ]
}

@test "device: accepts the sd spelling of the mapping name" {
  touch "$DEV/nvme2n1"
  ln -s nvme2n1 "$DEV/sdcy"
  call find_data_device /dev/xvdcy
  [ "$status" -eq 0 ]
  [ "$output" = "$DEV/nvme2n1" ]
}

@test "device: without a link, takes the only blank EBS disk and skips instance store" {
  fake_lsblk \
    'NAME="/dev/nvme1n1" TYPE="disk" PKNAME="" MOUNTPOINT="" FSTYPE="" MODEL="Amazon EC2 NVMe Instance Storage"' \
    'NAME="/dev/nvme2n1" TYPE="disk" PKNAME="" MOUNTPOINT="" FSTYPE="" MODEL="Amazon Elastic Block Store"'
  call find_data_device /dev/xvdcy
  [ "$status" -eq 0 ]
  [ "$output" = "/dev/nvme2n1" ]
}

@test "device: refuses to guess between several blank disks" {
  fake_lsblk \
    'NAME="/dev/nvme1n1" TYPE="disk" PKNAME="" MOUNTPOINT="" FSTYPE="" MODEL="Amazon Elastic Block Store"' \
    'NAME="/dev/nvme2n1" TYPE="disk" PKNAME="" MOUNTPOINT="" FSTYPE="" MODEL="Amazon Elastic Block Store"'
  call find_data_device /dev/xvdcy
  [ "$status" -ne 0 ]
  [[ "$output" == *"refusing to guess"* ]]
  [[ "$output" == *"/dev/nvme1n1 /dev/nvme2n1"* ]]
}

@test "device: fails when no blank disk is attached (never picks the root disk)" {
  fake_lsblk 'NAME="/dev/nvme1n1" TYPE="disk" PKNAME="" MOUNTPOINT="/var/lib/other" FSTYPE="ext4" MODEL="Amazon Elastic Block Store"'
  call find_data_device /dev/xvdcy
  [ "$status" -ne 0 ]
  [[ "$output" == *"no blank EBS disk"* ]]
}

@test "format: never formats a device that already holds another file system" {
  stub blkid 'case "$*" in *TYPE*) echo xfs ;; *LABEL*) echo root ;; esac'
  stub mkfs.ext4
  call format_device /dev/nvme1n1 docker
  [ "$status" -ne 0 ]
  [[ "$output" == *"refusing to format"* ]]
  refute_line_in "$STUB_LOG" '^mkfs.ext4'
}

@test "format: leaves a volume that already carries ext4 labelled docker" {
  stub blkid 'case "$*" in *TYPE*) echo ext4 ;; *LABEL*) echo docker ;; esac'
  stub mkfs.ext4
  call format_device /dev/nvme1n1 docker
  [ "$status" -eq 0 ]
  refute_line_in "$STUB_LOG" '^mkfs.ext4'
}

@test "main: formats the linked NVMe disk with label docker, writes fstab and mounts it" {
  touch "$DEV/nvme1n1"
  ln -s nvme1n1 "$DEV/xvdcy"
  printf 'UUID=1234 / xfs defaults,noatime 1 1\n' >"$FSTAB"
  local mounted="$BATS_TEST_TMPDIR/mounted" data="$BATS_TEST_TMPDIR/data"
  stub blkid 'exit 2'
  stub mkfs.ext4
  stub systemctl
  stub mount "touch '$mounted'"
  stub findmnt "[[ -e '$mounted' ]]"
  DATA_DEVICE_NAME=/dev/xvdcy DATA_LABEL=docker DATA_MOUNT_POINT="$data" run "$SCRIPT"
  [ "$status" -eq 0 ]
  grep -qx "mkfs.ext4 -q -L docker $DEV/nvme1n1" "$STUB_LOG"
  grep -qx "mount $data" "$STUB_LOG"
  grep -qx "LABEL=docker	$data	ext4	defaults,noatime,nofail	0	2" "$FSTAB"
  [ -d "$data" ]
}

@test "main: fails when the volume does not mount from the fstab entry" {
  touch "$DEV/nvme1n1"
  ln -s nvme1n1 "$DEV/xvdcy"
  stub blkid 'exit 2'
  stub mkfs.ext4
  stub systemctl
  stub mount
  stub findmnt 'exit 1'
  DATA_DEVICE_NAME=/dev/xvdcy DATA_MOUNT_POINT="$BATS_TEST_TMPDIR/data" run "$SCRIPT"
  [ "$status" -ne 0 ]
  [[ "$output" == *"is not mounted from LABEL=docker"* ]]
}
