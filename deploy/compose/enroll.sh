#!/bin/sh
# The compose federation's one-shot enrollment job (deploy/compose.yaml): top down, each regional
# center with a token from the national center, each member with one from its regional center.
# Runs as root in the LRS image with every node's data volume at /data/<id> and its config at
# /etc/lrs/<id>.toml; a node's CLI reaches the node at its service name (<TIER>_LISTEN). What it
# writes is handed to the nodes' user (10001). A node already enrolled is left alone, so the job
# can run again.
set -eu
enrolled() { # tier id
  LRS_CONFIG="/etc/lrs/$2.toml" env "$(echo "$1" | tr a-z A-Z)_DATA_DIR=/data/$2" \
    "lrs-$1" check-config --json | grep -q '"enrolled": true'
}
cli() { # tier id args...
  tier=$1 id=$2
  shift 2
  T=$(echo "$tier" | tr a-z A-Z)
  if [ -n "${LISTEN_FROM_CONFIG:-}" ]; then # the job shares the nodes' network (deploy/test-image.sh)
    env LRS_CONFIG="/etc/lrs/$id.toml" "${T}_DATA_DIR=/data/$id" "lrs-$tier" "$@"
  else
    env LRS_CONFIG="/etc/lrs/$id.toml" "${T}_DATA_DIR=/data/$id" "${T}_LISTEN=$id:7400" "lrs-$tier" "$@"
  fi
}
wait_up() { # tier id
  i=0
  until cli "$1" "$2" status >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -gt 150 ] && { echo "enroll: $2 did not come up" >&2; exit 1; }
    sleep 2
  done
}

wait_up national national
for pair in ${REGIONS:-north-rc:north south-rc:south}; do
  rc=${pair%%:*} region=${pair##*:}
  if ! enrolled regional "$rc"; then
    token=$(cli national national token create --id "$rc" --region "$region")
    cli regional "$rc" enroll --token "$token"
    chown -R 10001:10001 "/data/$rc"
  fi
done
for pair in ${MEMBERS:-north-a:north-rc north-b:north-rc south-a:south-rc}; do
  member=${pair%%:*} rc=${pair##*:}
  if ! enrolled member "$member"; then
    wait_up regional "$rc"
    token=$(cli regional "$rc" token create --id "$member")
    cli member "$member" enroll --token "$token"
    chown -R 10001:10001 "/data/$member"
  fi
done
echo "enroll: every node is enrolled"
