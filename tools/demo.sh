#!/usr/bin/env bash
# Set up and run the enricher against the built-in demo: a libvirt test-driver
# node file (enricher/demo/demo-node.xml) whose domains carry Nova metadata.
# No OpenStack, no VM, no libvirtd needed. Shows the tenant-labelled metrics,
# then keeps serving http://127.0.0.1:${PORT}/metrics until Ctrl-C.
# --check: show the metrics and exit (used by the tests).
# ENRICHER_BIN: run that enricher (an installed wheel's) instead of .venv's.
#
# --guests N [--check]: real guests instead (root, libvirt and QEMU installed:
# tools/e2e-host-setup.sh): a private libvirtd with N tiny QEMU guests carrying
# Nova metadata of two projects, the enricher, and a Prometheus scraping it with
# the recording rules; prints per-project CPU, disk and network from PromQL.
# tools/demo_guests.py removes guests, daemons and files on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${ENRICHER_DEMO_PORT:-9616}

if [[ ${1:-} == --guests ]]; then
    tools/bootstrap.sh >/dev/null
    exec .venv/bin/python -u tools/demo_guests.py "$@"  # -u: each line as it is printed
fi

if [[ -n ${ENRICHER_BIN:-} ]]; then
    enricher=$ENRICHER_BIN
else
    tools/bootstrap.sh >/dev/null
    enricher=.venv/bin/enricher
fi
workdir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$workdir"' EXIT
cat >"$workdir/enricher.conf" <<CONF
[libvirt]
connection_uri = test://$(pwd)/enricher/demo/demo-node.xml
[prometheus]
host = 127.0.0.1
port = $PORT
CONF
"$enricher" --config-file "$workdir/enricher.conf" &
pid=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/metrics" -o "$workdir/metrics" && break
    kill -0 "$pid" 2>/dev/null || { echo "enricher exited early" >&2; exit 1; }
    sleep 0.1
done
echo "== tenant-labelled metrics from http://127.0.0.1:$PORT/metrics =="
grep -E '^(libvirt_up|libvirt_domain_info_state|libvirt_domain_openstack_info|enricher_domains)[{ ]' \
    "$workdir/metrics"
if [[ ${1:-} == --check ]]; then
    exit 0
fi
echo "== serving on http://127.0.0.1:$PORT/metrics; Ctrl-C to stop =="
wait "$pid"
