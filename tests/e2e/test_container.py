"""The container image serves the e2e guests' tenant-labelled metrics.

It runs ``localhost/enricher:latest`` (tools/container.sh builds it: about
7 minutes from nothing, so CI does not; ENRICHER_BUILD_IMAGE=1 builds it here
when missing) with podman, the host's read-only libvirt socket mounted, on
the host network and a free port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import exposition
from tests.e2e.harness import libvirtd, procs, series
from tests.e2e.harness.domains import E2EDomain

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("ENRICHER_IMAGE", "localhost/enricher:latest")
SOCKET = "/run/libvirt/libvirt-sock-ro"
pytestmark = pytest.mark.slow


def podman_options() -> list[str]:
    """What tools/container.sh runs podman with on this machine."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return os.environ.get("ENRICHER_PODMAN_OPTS", " ".join(runtime)).split()


def image_available() -> None:
    podman = shutil.which("podman")
    if not podman:
        pytest.skip("podman is not installed")
    if subprocess.run([podman, "image", "exists", IMAGE], check=False).returncode == 0:
        return
    if os.environ.get("ENRICHER_BUILD_IMAGE") != "1":
        pytest.skip("%s not built: run tools/container.sh (or ENRICHER_BUILD_IMAGE=1)" % IMAGE)
    subprocess.run([str(REPO / "tools" / "container.sh")], check=True, timeout=1200)


@pytest.fixture
def container(libvirt_host: libvirtd.LibvirtHost, e2e_domains: dict[str, E2EDomain]
              ) -> Iterator[str]:
    """The image running against the host's read-only socket; yields its /metrics URL."""
    image_available()
    if libvirt_host.uri != libvirtd.URI or not Path(SOCKET).is_socket():
        pytest.skip("needs the host libvirtd's %s" % SOCKET)
    port = procs.free_port()
    name = "enricher-e2e-%d" % port
    argv = ["podman", *podman_options(), "run", "--detach", "--rm", "--name", name,
            "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
            "--read-only", "--cap-drop", "ALL",
            "--volume", "%s:%s:ro" % (SOCKET, SOCKET),
            "--env", "OS_PROMETHEUS__HOST=127.0.0.1", "--env", "OS_PROMETHEUS__PORT=%d" % port,
            "--env", "OS_DEFAULT__INTERVAL=1",
            # The container sees neither QEMU's /proc nor its cgroups.
            "--env", "OS_LIBVIRT__CPU_TIME_FROM_CGROUP=false",
            "--env", "OS_LIBVIRT__VCPU_TIMES_FROM_PROC=false",
            IMAGE]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        yield url
    finally:
        logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True,
                              check=False)
        print(logs.stdout[-3000:], logs.stderr[-3000:])
        subprocess.run(["podman", *podman_options(), "stop", "--time", "10", name],
                       capture_output=True, check=False, timeout=60)


def test_container_serves_tenant_labelled_metrics(container: str,
                                                  e2e_domains: dict[str, E2EDomain]) -> None:
    def scraped() -> exposition.Samples | None:
        status, body = procs.http_get(container, timeout=5.0)
        if status != 200:
            return None
        samples = exposition.parse(body)
        cpu = samples.get("libvirt_domain_cpu_time_seconds_total", [])
        return samples if all(series.of(samples, "libvirt_domain_cpu_time_seconds_total", vm)
                              for vm in e2e_domains.values()) and cpu else None

    samples = procs.wait_until(scraped, 90, what=container, interval=1.0)
    assert samples["libvirt_up"][0].value == 1
    for vm in e2e_domains.values():
        cpu, = series.of(samples, "libvirt_domain_cpu_time_seconds_total", vm)
        series.assert_tenant_labels(cpu.labels, vm, "in the container's exposition")
        assert cpu.value > 0
        info, = series.of(samples, "libvirt_domain_openstack_info", vm)
        assert info.labels["user_name"] == vm.user_name
