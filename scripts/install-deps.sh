#!/usr/bin/env bash
# Installs the Debian packages ganpp needs to build, test and run; skips apt when all are present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build ccache pkg-config
      libtorch-dev libopenblas0-openmp libgloo-dev
      libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev
      libpng-dev libstb-dev zlib1g-dev fonts-dejavu-core
      libgtest-dev googletest
      dataset-fashion-mnist)
# Test-only: the independent Python references (never a runtime dependency of ganpp).
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3-torch python3-torchvision python3-numpy python3-scipy)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
