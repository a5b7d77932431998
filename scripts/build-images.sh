#!/usr/bin/env bash
# Build every image docker-compose.yml runs, with no registry: a Debian root file system made
# from Debian's packages (debootstrap, `docker import`), then the Dockerfile's stages on it:
#   mlpgrade-service   the API, the workers, migrations and Flower (our code + its venv)
#   mlpgrade-grading   what student code runs in (the docker sandbox's image)
#   mlpgrade-postgres, mlpgrade-redis, mlpgrade-docker-proxy   (Debian's postgresql, redis, haproxy)
# Python packages come from PyPI through this host's pip (downloaded once as wheels for the image's
# Python 3.11); nothing inside a build step touches the network.
#
#   bash scripts/build-images.sh [TAG]        # TAG: MLPGRADE_IMAGE_TAG, default latest
#
# Cached by content: the base file system by a hash of the Debian suite, mirror and package list
# (an image tag in the engine, plus a tarball under MLPGRADE_IMAGE_CACHE), the wheels by a hash
# of the requirements; the rest is Docker's own layer cache. Delete the cache folder (or the
# mlpgrade-debian image) to pick up a new Debian point release.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
tag=${1:-${MLPGRADE_IMAGE_TAG:-latest}}
cache=${MLPGRADE_IMAGE_CACHE:-/var/cache/mlpgrade-images}
suite=bookworm
mirror=${MLPGRADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Everything the images need from Debian, in one base (each image uses its part of it).
packages=python3,python3-venv,bubblewrap,procps,libseccomp2,ca-certificates,postgresql-15,redis-server,haproxy
export DOCKER_BUILDKIT=0  # the classic builder: FROM a local image, never a pull
mkdir -p "$cache"
log() { echo "build-images: $*" >&2; }
hash_of() { sha256sum | cut -c1-12; }

# -- the Debian base --------------------------------------------------------------------------
base_key=$(printf '%s\n' "$suite" "$mirror" "$packages" minbase 1 | hash_of)
base="mlpgrade-debian:$suite-$base_key"
if ! docker image inspect "$base" >/dev/null 2>&1; then
    tarball="$cache/debian-$suite-$base_key.tar"
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null 2>&1 || \
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        root=$(mktemp -d "$cache/rootfs.XXXXXX")
        trap 'rm -rf "$root"' EXIT
        log "debootstrap $suite ($packages)"
        mkdir -p "$cache/debs"
        debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$packages" \
            "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
            || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
        # Package lists and caches are not part of an image; the servers' default clusters and
        # configuration are replaced by ours (images/).
        rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
            "$root"/var/lib/postgresql/15/main
        tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
        trap - EXIT
    fi
    log "docker import $base"
    docker import "$tarball" "$base" >/dev/null
fi


# -- wheels for the image's Python (Debian bookworm: 3.11.2, glibc 2.36), downloaded by this host's pip ------------
py=.venv/bin/python
[ -x "$py" ] || py=python3
# pip does not widen a given platform to older manylinux tags: name each one glibc 2.36 runs.
platforms=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
wheels() {  # wheels NAME REQUIREMENT... : a folder of wheels for exactly these requirements
    local name=$1; shift
    local key dir
    key=$(printf '%s\n' "$@" | hash_of)
    dir="$cache/wheels-$name-$key"
    if [ ! -f "$dir/.complete" ]; then
        log "pip download ($name)"
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        "$py" -m pip download -q --dest "$dir.tmp" --only-binary=:all: --python-version 3.11.2 \
            --implementation cp --abi cp311 "${platforms[@]}" "$@" 2>&1 \
            | { grep -v "^WARNING: Location" || true; } >&2
        touch "$dir.tmp/.complete" && rm -rf "$dir" && mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}
mapfile -t service_reqs < <("$py" - <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
# flower: the compose stack's queue monitor; setuptools: builds our own package in the image;
# async-timeout: redis's dependency below Python 3.11.3, which pip's markers, evaluated with this
# host's interpreter, may miss.
for req in [*project["dependencies"], "flower>=2.0", "setuptools>=70", "async-timeout>=4.0.3"]:
    print(req)
PY
)
mapfile -t runtime_reqs < <("$py" - <<'PY'
import tomllib
from pathlib import Path
pins = {tuple(tomllib.load(open(p, "rb")).get("runtime", {}).get("packages", ()))
        for p in Path("grader/assignments").glob("*/rubric-*.toml")}
for pin in sorted({p for ps in pins for p in ps}):
    print(pin)
PY
)
service_wheels=$(wheels service "${service_reqs[@]}")
runtime_wheels=$(wheels runtime "${runtime_reqs[@]}")

# -- the build context: wheels, our code (no caches, no venv), configuration --------------------
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/wheels" "$context/src"
cp -al "$service_wheels" "$context/wheels/service" 2>/dev/null || cp -a "$service_wheels" "$context/wheels/service"
cp -al "$runtime_wheels" "$context/wheels/runtime" 2>/dev/null || cp -a "$runtime_wheels" "$context/wheels/runtime"
tar -c --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md reference grader worker \
    submissions_api | tar -x -C "$context/src"
cp -a images Dockerfile "$context/"

# The servers' stages need only images/: a small context of their own.
small=$(mktemp -d)
trap 'rm -rf "$context" "$small"' EXIT
cp -a images Dockerfile "$small/"
for target in postgres redis docker-proxy grading service; do
    dir=$context
    case $target in postgres|redis|docker-proxy) dir=$small ;; esac
    log "docker build --target $target -t mlpgrade-$target:$tag"
    docker build -q --force-rm --network none --build-arg BASE="$base" --target "$target" \
        -t "mlpgrade-$target:$tag" "$dir" 2>&1 >/dev/null | { grep -v "DEPRECATED\|BuildKit\|environment-variable\|^$" || true; } >&2
done
log "done: mlpgrade-{service,grading,postgres,redis,docker-proxy}:$tag"
