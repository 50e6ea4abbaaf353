#!/usr/bin/env bash
# Install everything (Debian packages, venv, tox) and run the whole test suite:
# lint, unit + functional (libvirt test driver, Keystone+Nova simulator),
# end-to-end (real libvirtd + QEMU, real Prometheus), the benchmark smoke run,
# the config-sample check, the demo, and the docs and release-notes builds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/e2e-host-setup.sh
# Everything the tests run is installed now: a missing tool fails, not skips (tests/tools.py).
export ENRICHER_REQUIRE_TOOLS=1
tools/bootstrap.sh >/dev/null
# The README's first command, end to end (on a free port).
demo=$(ENRICHER_DEMO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
    tools/demo.sh --check)
grep -q 'project_name="webshop"' <<<"$demo"
echo "tools/demo.sh: OK (tenant-labelled demo metrics served)"
exec .venv/bin/tox -e pep8,all,docs,releasenotes -- "$@"
