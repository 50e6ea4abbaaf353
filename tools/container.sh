#!/usr/bin/env bash
# Build the enricher's container image (Containerfile) with podman, without an
# image registry: the Debian 12 base root filesystem comes from mmdebstrap and
# the Debian archive, imported as ${BASE}. Run as root. Prints the image name.
#   ENRICHER_IMAGE (localhost/enricher:latest), ENRICHER_BASE_IMAGE
#   (localhost/enricher-base:bookworm), DEBIAN_MIRROR (the apt sources' mirror),
#   ENRICHER_REBUILD_BASE=1 to make the base again.
# About 4 minutes for the base, 3 for the image on a 2-core machine
# (doc/source/install.rst).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${ENRICHER_IMAGE:-localhost/enricher:latest}
BASE=${ENRICHER_BASE_IMAGE:-localhost/enricher-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# crun refuses hybrid cgroup hierarchies and some sandboxes forbid raising
# rlimits: runc with lowered ulimits runs in both (tools/e2e-host-setup.sh
# installs runc).
read -r -a OPTS <<<"${ENRICHER_PODMAN_OPTS:-$(command -v runc >/dev/null && echo --runtime runc)}"
LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

log() { printf 'container.sh: %s\n' "$*" >&2; }

if [[ ${ENRICHER_REBUILD_BASE:-} == 1 ]] || ! podman image exists "$BASE"; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    log "building $BASE with mmdebstrap from $MIRROR"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$tmp/root.tar" \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
        "deb $SECURITY bookworm-security main"
    podman import --quiet --change 'CMD ["/bin/bash"]' "$tmp/root.tar" "$BASE" >/dev/null
fi
version=$(.venv/bin/python setup.py --version 2>/dev/null | tail -n 1)
secret=()
# A TLS-intercepting proxy's CA reaches pip inside the build (see Containerfile).
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
    secret=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
fi
log "building $IMAGE (enricher $version) on $BASE"
podman "${OPTS[@]}" build --quiet --network host "${LIMITS[@]}" "${secret[@]}" \
    --build-arg BASE="$BASE" --build-arg PBR_VERSION="$version" \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.revision="$(git rev-parse HEAD)" \
    -t "$IMAGE" -f Containerfile . >/dev/null
echo "$IMAGE"
