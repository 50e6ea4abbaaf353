#!/usr/bin/env bash
# Install everything (Debian packages, venv, tox) and run the whole test suite:
# lint, unit + functional (libvirt test driver, Keystone+Nova simulator),
# end-to-end (real libvirtd + QEMU, real Prometheus), the benchmark smoke run,
# the config-sample check, and the docs and release-notes builds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/e2e-host-setup.sh
tools/bootstrap.sh >/dev/null
exec .venv/bin/tox -e pep8,all,docs,releasenotes -- "$@"
