#!/usr/bin/env bash
# Install what the enricher needs on a fresh Debian 12 machine (run as root):
# the libvirt headers libvirt-python builds against, and a virtualenv in .venv
# with the enricher (editable) and tox. Idempotent. Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libvirt-dev pkg-config curl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        need+=("$pkg")
done
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -r requirements.txt tox >/dev/null
.venv/bin/pip install -q --no-deps -e . >/dev/null
echo .venv
