#!/usr/bin/env bash
# Checks the units: `systemd-analyze verify` (syntax, directives, the executable) and
# `systemd-analyze security --offline` (exposure at most 2.0 of 10: --threshold counts tenths). The programs need not be
# installed: a copy of each unit runs an existing executable in their place. Needs Debian's systemd.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stand_in="$(command -v true)"
for unit in "$here"/*.service; do
  sed -E "s#/usr/local/bin/lrs-[a-z]+#$stand_in#g" "$unit" > "$tmp/$(basename "$unit")"
done
systemd-analyze verify "$tmp"/*.service
for unit in "$tmp"/*.service; do
  systemd-analyze security --offline=true --threshold=20 --no-pager "$unit" | tail -1
done
echo "systemd units verified: $(cd "$here" && ls ./*.service | xargs -n1 basename | tr '\n' ' ')"
