#!/usr/bin/env bash
# Installs the pinned Packer release into DEST_DIR after checking its SHA-256, so a
# tampered or truncated download never runs with the build's AWS permissions.
#
# The checksum is the SHA-256 of packer_1.15.4_linux_amd64.zip as listed in
# https://releases.hashicorp.com/packer/1.15.4/packer_1.15.4_SHA256SUMS; the same value is
# pinned by a HashiCorp-style Homebrew formula, the Chromebrew package and other independent
# public build scripts, which is where it was taken from. To move to another release,
# take the linux_amd64 line from that release's SHA256SUMS after checking the file's GPG
# signature (packer_<version>_SHA256SUMS.sig) against HashiCorp's release key, and update
# both values together.
#
# Usage: install-packer.sh DEST_DIR
# Test seams: PACKER_RELEASES_URL (default https://releases.hashicorp.com); PACKER_VERSION
# and PACKER_SHA256 override the pin, and only together.
set -euo pipefail

readonly PINNED_VERSION="1.15.4"
readonly PINNED_SHA256_LINUX_AMD64="15f97a6a99645c7d5308c609973b5280837b38e112beac413ccbce80da927cf1"

die() {
  printf 'install-packer.sh: error: %s\n' "$*" >&2
  exit 1
}

main() {
  local dest="${1:-}"
  [[ -n "$dest" ]] || die "usage: install-packer.sh DEST_DIR"

  local version="${PACKER_VERSION:-}" sha256="${PACKER_SHA256:-}"
  if [[ -n "$version" || -n "$sha256" ]]; then
    [[ -n "$version" && -n "$sha256" ]] ||
      die "PACKER_VERSION and PACKER_SHA256 must be overridden together"
  else
    version="$PINNED_VERSION"
    sha256="$PINNED_SHA256_LINUX_AMD64"
  fi
  [[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || die "PACKER_SHA256 is not a SHA-256 hex digest"

  local machine
  machine="$(uname -m)"
  [[ "$machine" == "x86_64" ]] ||
    die "only linux_amd64 has a pinned checksum; this machine is $machine (use an x86_64 build image)"

  local base="${PACKER_RELEASES_URL:-https://releases.hashicorp.com}"
  local archive="packer_${version}_linux_amd64.zip"
  WORK_DIR="$(mktemp -d)"
  trap 'rm -rf "$WORK_DIR"' EXIT
  local work="$WORK_DIR"

  curl --fail --silent --show-error --location --retry 3 \
    --output "$work/$archive" "$base/packer/$version/$archive"

  local actual
  actual="$(sha256sum "$work/$archive" | cut -d' ' -f1)"
  [[ "$actual" == "$sha256" ]] ||
    die "checksum mismatch for $archive: expected $sha256, got $actual; not installing"

  mkdir -p "$dest"
  unzip -o -q "$work/$archive" packer -d "$work/unpacked"
  install -m 0755 "$work/unpacked/packer" "$dest/packer"
  printf 'install-packer.sh: installed Packer %s (sha256 %s) to %s\n' "$version" "$actual" "$dest/packer"
}

main "$@"
