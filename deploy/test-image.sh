#!/usr/bin/env bash
# Opt-in: builds the LRS image with podman (deploy/Dockerfile, from the base images that
# deploy/podman/make-base-images.sh makes out of Debian's packages) and starts a small federation
# of containers — a national center, a regional center, a member — each as in compose.yaml
# (uid 10001, read-only root file system, its own volume, tini as PID 1, lrs-start) with the
# enrollment job; the member imports records and a national search through its node finds them;
# then every container is stopped with SIGTERM and must exit 0. The containers share the host's
# network on free loopback ports (this machine has no container DNS); compose.yaml uses a bridge
# network and service names. Needs root, Debian's podman, buildah, runc, debootstrap, and the npm
# registry. Not part of .ci/run (it takes several minutes). Usage: deploy/test-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="$PWD/deploy/podman/containers.conf"
tag="localhost/lrs:test"
name="lrs-test-$$"
work="$(mktemp -d)"
cleanup() {
  podman rm -f -t 5 "$name-member" "$name-regional" "$name-national" "$name-enroll" >/dev/null 2>&1 || true
  podman volume rm -f "$name-national" "$name-regional" "$name-member" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

deploy/podman/make-base-images.sh
[ -n "${SKIP_PACK:-}" ] || npm run pack --silent
podman build --network host -f deploy/Dockerfile -t "$tag" \
  --build-arg BUILD_BASE=localhost/lrs-build-base:bookworm \
  --build-arg RUN_BASE=localhost/lrs-run-base:bookworm .

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
declare -A port
for n in national regional member; do port[$n]=$(free_port); done
cat > "$work/national.toml" <<TOML
id = "national"
name = "National Center"
listen = "127.0.0.1:${port[national]}"
sru_listen = "127.0.0.1:$(free_port)"
metrics_listen = "127.0.0.1:$(free_port)"
dashboard_listen = "127.0.0.1:$(free_port)"
web_listen = "127.0.0.1:$(free_port)"
data_dir = "/var/lib/lrs"
TOML
cat > "$work/north-rc.toml" <<TOML
id = "north-rc"
name = "North Regional Center"
region = "north"
listen = "127.0.0.1:${port[regional]}"
parent = "127.0.0.1:${port[national]}"
sru_listen = "127.0.0.1:$(free_port)"
metrics_listen = "127.0.0.1:$(free_port)"
web_listen = "127.0.0.1:$(free_port)"
data_dir = "/var/lib/lrs"
TOML
cat > "$work/north-a.toml" <<TOML
id = "north-a"
name = "North Library A"
region = "north"
listen = "127.0.0.1:${port[member]}"
parent = "127.0.0.1:${port[regional]}"
metrics_listen = "127.0.0.1:$(free_port)"
web_listen = "127.0.0.1:$(free_port)"
data_dir = "/var/lib/lrs"
TOML
chmod 644 "$work"/*.toml

run_node() { # role id tier
  podman run -d --name "$name-$1" --network host --read-only --tmpfs /tmp \
    -v "$name-$1:/var/lib/lrs" -v "$work/$2.toml:/etc/lrs/node.toml:ro" "$tag" lrs-start "$3" >/dev/null
}
run_node national national national
run_node regional north-rc regional
run_node member north-a member
# The enrollment job, as compose.yaml runs it (the CLI reaches each node at its listen address).
podman run --name "$name-enroll" --network host --user 0 --read-only --tmpfs /tmp \
  -v "$PWD/deploy/compose/enroll.sh:/etc/lrs/enroll.sh:ro" \
  -v "$name-national:/data/national" -v "$name-regional:/data/north-rc" -v "$name-member:/data/north-a" \
  -v "$work/national.toml:/etc/lrs/national.toml:ro" -v "$work/north-rc.toml:/etc/lrs/north-rc.toml:ro" \
  -v "$work/north-a.toml:/etc/lrs/north-a.toml:ro" \
  -e REGIONS="north-rc:north" -e MEMBERS="north-a:north-rc" -e LISTEN_FROM_CONFIG=1 \
  "$tag" sh /etc/lrs/enroll.sh

# The member serves once its identity is there; then its catalog goes up to the national center.
until podman exec "$name-member" lrs-member status >/dev/null 2>&1; do sleep 2; done
podman cp data/marc/lc-marc2bibframe2/loc_general.xml "$name-member:/tmp/records.xml"
podman exec "$name-member" lrs-member import /tmp/records.xml
hits=0
for _ in $(seq 60); do
  hits=$(podman exec "$name-member" lrs-member search --scope national --json 'dc.title=history' \
    | grep -o '"total": *"[0-9]*"' | grep -o '[0-9]*' | sort -n | tail -1 || true)
  [ "${hits:-0}" -gt 0 ] && break
  sleep 2
done
[ "${hits:-0}" -gt 0 ] || { echo "test-image: no hits for a national search" >&2; podman logs "$name-member" | tail -20; exit 1; }
echo "test-image: a national search from the member's container found $hits records"
# Root file system read-only, not root, tini as PID 1.
podman exec "$name-member" sh -c 'touch /opt/lrs/x 2>/dev/null && exit 1; [ "$(id -u)" = 10001 ] && tr "\0" " " < /proc/1/cmdline | grep -q "^tini "'
for role in member regional national; do
  podman stop -t 30 "$name-$role" >/dev/null
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name-$role")
  [ "$code" = 0 ] || { echo "test-image: $role exited $code on SIGTERM" >&2; exit 1; }
done
echo "test-image: passed (image $tag; national, regional and member enrolled, searched, stopped cleanly)"
