"""Debian's prometheus-libvirt-exporter (Go, kumina 0.2.0) as the comparison target."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import procs
from tests.perf.targets import Target, run_process

LOG = logging.getLogger(__name__)

PACKAGE = "prometheus-libvirt-exporter"
BINARY = Path("/usr/bin/prometheus-libvirt-exporter")


def version() -> str:
    """The installed package version, or "" if dpkg does not know it."""
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", PACKAGE],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def ensure_installed(install: bool = True) -> Path:
    """Return the binary, installing the Debian package first if it is missing.

    The package's init script is not started: without a runlevel (no
    systemd, a container) invoke-rc.d declines, and we never use its port.
    """
    if BINARY.exists():
        return BINARY
    if not install or os.geteuid() != 0:
        raise RuntimeError(f"{BINARY} is missing: apt-get install {PACKAGE}")
    LOG.warning("%s is missing: installing the Debian package %s", BINARY, PACKAGE)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                check=False)
    if result.returncode != 0 or not BINARY.exists():
        raise RuntimeError(f"could not install {PACKAGE}: {result.stderr.strip()[-500:]}")
    return BINARY


@contextlib.contextmanager
def go_exporter(workdir: Path, uri: str, nova_metadata: bool = True,
                timeout: float = 30.0) -> Iterator[Target]:
    """Run the Go exporter on a free 127.0.0.1 port; yield it once it answers."""
    binary = ensure_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    argv = [str(binary), f"--web.listen-address=127.0.0.1:{port}", f"--libvirt.uri={uri}"]
    if nova_metadata:
        argv.append("--libvirt.export-nova-metadata")
    # "/" is its landing page: waiting on it does not trigger a collection.
    with run_process("go", argv, f"http://127.0.0.1:{port}/", workdir / f"go-{port}.log",
                     timeout) as target:
        target.url = f"http://127.0.0.1:{port}/metrics"
        yield target
