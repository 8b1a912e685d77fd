#!/usr/bin/env bash
# Installs the Debian packages minikd needs to build, run and test; installs only what is missing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      libsqlite3-dev libcpp-httplib-dev nlohmann-json3-dev libnftnl-dev libmnl-dev libboost-dev libboost-filesystem-dev
      catch2 libssl-dev libyaml-cpp-dev zlib1g-dev
      iproute2 nftables dnsutils dnsperf dnsmasq-base procps curl
      clang libclang-rt-14-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(chromium nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs from another repository may provide npm itself.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "minikd: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "minikd: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
  apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
