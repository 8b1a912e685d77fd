#!/usr/bin/env bash
# `make up`: install the built binary, start minikd in the foreground with the example app, print the URLs.
set -euo pipefail
bin=${1:?usage: up.sh BINARY STATE_DIR}
state=${2:-/var/lib/minikd}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "minikd up needs root (network namespaces, bridge, nftables): run \`sudo make up\`" >&2
  exit 1
fi
install -m 0755 "$bin" /usr/local/bin/minikd
apply=()
if [ -d "$root/examples/shop" ]; then
  apply=(--apply "$root/examples/shop")
  echo "The example shop (examples/shop) answers at http://127.0.0.1:30080/ once its pods are Ready."
fi
exec /usr/local/bin/minikd up --state-dir "$state" "${apply[@]}"
