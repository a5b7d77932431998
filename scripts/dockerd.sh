#!/usr/bin/env bash
# Start a Docker engine for the docker sandbox backend on a machine that runs none (Debian's
# docker.io, data in a temp folder, no bridge, no iptables: see docs/sandbox.md), then build the
# grading image (`mlpgrade runtime image`, named MLPGRADE_DOCKER_IMAGE, default
# mlpgrade-grading:latest). Prints the DOCKER_HOST to export. Idempotent.
set -euo pipefail
root=${MLPGRADE_DOCKER_ROOT:-/tmp/mlpgrade-docker}
sock="$root/docker.sock"
export DOCKER_HOST="unix://$sock"
if ! command -v dockerd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! docker version >/dev/null 2>&1; then
    mkdir -p "$root/data" "$root/exec"
    nohup dockerd --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/dockerd.pid" \
        -H "$DOCKER_HOST" --iptables=false --ip6tables=false --bridge=none \
        >"$root/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
        docker version >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker version >/dev/null 2>&1 || { tail -20 "$root/dockerd.log" >&2; exit 1; }
fi
"$(dirname "$0")/../.venv/bin/mlpgrade" runtime image >/dev/null
echo "export DOCKER_HOST=$DOCKER_HOST"
