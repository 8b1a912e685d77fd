#!/usr/bin/env bash
# `make bench`: runs every benchmark built from tests/bench/ (root ones need root), printing figures.
set -uo pipefail
build=${1:-build}
for b in "$build"/tests/*_bench; do
  [ -x "$b" ] || continue
  echo "=== $(basename "$b")"
  "$b" || echo "($(basename "$b") exited with $?)"
done
