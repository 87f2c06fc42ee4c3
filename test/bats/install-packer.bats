#!/usr/bin/env bats
# buildspec/install-packer.sh: the pinned Packer release, installed only when its SHA-256 matches.
# shellcheck disable=SC2016,SC2030,SC2031
# (SC2016: stub bodies are code for the stub, quoted on purpose; SC2030/SC2031: bats runs
# every test in its own subshell, so per-test exports are meant to stay local.)

load helpers/common

SCRIPT="$REPO_ROOT/buildspec/install-packer.sh"

setup() {
  # A stand-in release archive served from a local directory through file:// URLs.
  RELEASES="$BATS_TEST_TMPDIR/releases"
  mkdir -p "$RELEASES/packer/9.9.9" "$BATS_TEST_TMPDIR/content"
  printf '#!/bin/sh\necho "Packer v9.9.9"\n' >"$BATS_TEST_TMPDIR/content/packer"
  chmod +x "$BATS_TEST_TMPDIR/content/packer"
  (cd "$BATS_TEST_TMPDIR/content" && python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    info = zipfile.ZipInfo("packer"); info.external_attr = 0o755 << 16
    z.writestr(info, open("packer", "rb").read())' "$RELEASES/packer/9.9.9/packer_9.9.9_linux_amd64.zip")
  ARCHIVE_SHA256="$(sha256sum "$RELEASES/packer/9.9.9/packer_9.9.9_linux_amd64.zip" | cut -d' ' -f1)"
  export PACKER_RELEASES_URL="file://$RELEASES"
  DEST="$BATS_TEST_TMPDIR/bin"
}

@test "pins a release and a SHA-256 digest" {
  grep -Eq '^readonly PINNED_VERSION="[0-9]+\.[0-9]+\.[0-9]+"$' "$SCRIPT"
  grep -Eq '^readonly PINNED_SHA256_LINUX_AMD64="[0-9a-f]{64}"$' "$SCRIPT"
}

@test "installs the archive when its checksum matches" {
  PACKER_VERSION=9.9.9 PACKER_SHA256="$ARCHIVE_SHA256" run "$SCRIPT" "$DEST"
  [ "$status" -eq 0 ]
  [ -x "$DEST/packer" ]
  [ "$("$DEST/packer")" = "Packer v9.9.9" ]
}

@test "refuses an archive whose checksum does not match, and installs nothing" {
  PACKER_VERSION=9.9.9 PACKER_SHA256="$(printf 'a%.0s' {1..64})" run "$SCRIPT" "$DEST"
  [ "$status" -ne 0 ]
  [[ "$output" == *"checksum mismatch"* ]]
  [ ! -e "$DEST/packer" ]
}

@test "refuses to override the version without the checksum" {
  PACKER_VERSION=9.9.9 run "$SCRIPT" "$DEST"
  [ "$status" -ne 0 ]
  [[ "$output" == *"overridden together"* ]]
}

@test "fails when the download fails" {
  PACKER_VERSION=9.9.8 PACKER_SHA256="$ARCHIVE_SHA256" run "$SCRIPT" "$DEST"
  [ "$status" -ne 0 ]
  [ ! -e "$DEST/packer" ]
}
