#!/usr/bin/env bash
# Makes sure the command-line tools `make test` and `make demo` need are on PATH.
# Debian packages are installed when missing (apt-get, as root or through sudo);
# the Python tools (cfn-lint, moto_server) are only checked, with the install line printed.
# Usage: scripts/ensure-tools.sh TOOL...   (tools: packer shellcheck bats jq curl unzip cfn-lint moto_server)
set -euo pipefail

apt_package_for() {
  case "$1" in
    packer | shellcheck | bats | jq | curl | unzip) echo "$1" ;;
    *) echo "" ;;
  esac
}

missing_apt=()
missing_other=()
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 && continue
  pkg="$(apt_package_for "$tool")"
  if [[ -n "$pkg" ]]; then
    missing_apt+=("$pkg")
  else
    missing_other+=("$tool")
  fi
done

if ((${#missing_apt[@]} > 0)); then
  sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo_cmd=(sudo)
    else
      echo "error: missing ${missing_apt[*]}; install them with your package manager (Debian/Ubuntu: apt-get install ${missing_apt[*]})" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${missing_apt[*]} and apt-get is not available; install them with your package manager" >&2
    exit 1
  fi
  echo "Installing missing Debian packages: ${missing_apt[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
fi

if ((${#missing_other[@]} > 0)); then
  for tool in "${missing_other[@]}"; do
    case "$tool" in
      cfn-lint | moto_server)
        echo "error: $tool is not on PATH. Install the Python tools with: pip install 'moto[server]>=5.2.3' cfn-lint" >&2
        ;;
      *)
        echo "error: $tool is not on PATH" >&2
        ;;
    esac
  done
  exit 1
fi
