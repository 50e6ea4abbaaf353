"""The container image serves real guests' tenant-labelled metrics.

It runs ``localhost/enricher:latest`` (tools/container.sh builds it: about
7 minutes from nothing, so CI does not; ENRICHER_BUILD_IMAGE=1 builds it here
when missing) with podman as its non-root user, a libvirtd's read-only socket
mounted where the host's would be, on the host network and a free port.

The libvirtd is a private one (tests/e2e/harness/private_libvirtd.py) with
``auth_unix_ro = "none"``: libvirt's default for that socket is polkit, which
allows any local user on a normal host but needs D-Bus, which the test
machines lack (a non-root client of the shared libvirtd gets "Unable to get
system bus connection"); root would skip polkit, but the image runs as 65534.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import exposition
from tests.e2e.harness import bootsector, domains, libvirtd, private_libvirtd, procs, series
from tests.e2e.harness.domains import E2EDomain

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("ENRICHER_IMAGE", "localhost/enricher:latest")
SOCKET = "/run/libvirt/libvirt-sock-ro"
PREFIX = "enr-ctr-"
_why_not = private_libvirtd.unsupported()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800),  # may build the image
              pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


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
def guests() -> Iterator[tuple[Path, dict[str, E2EDomain]]]:
    """A private libvirtd with two idle guests; yields its read-only socket and them."""
    image_available()
    root = Path(tempfile.mkdtemp(prefix=PREFIX + "libvirtd-"))
    daemon = private_libvirtd.own_state(root)
    try:
        daemon.start()
        conn = libvirtd.wait_for_connection(daemon.uri, 60)
    except BaseException:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    workdir, specs = domains.fresh_specs(conn, PREFIX, ["a", "b"])
    try:
        domain_type = libvirtd.detect_domain_type(conn)
        for spec in specs.values():
            bootsector.write_image(spec.disk_path, bootsector.IDLE)
            domains.start(conn, domains.small_xml(spec, domain_type), transient=True)
        yield daemon.socket.parent / "libvirt-sock-ro", specs
    finally:
        domains.remove_specs(conn, specs.values())
        conn.close()
        daemon.stop()
        private_libvirtd.kill_guests(root / "run" / "qemu")
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def container(guests: tuple[Path, dict[str, E2EDomain]]) -> Iterator[str]:
    """The image running against the guests' read-only socket; yields its /metrics URL."""
    socket, _ = guests
    port = procs.free_port()
    name = "enricher-e2e-%d" % port
    argv = ["podman", *podman_options(), "run", "--detach", "--rm", "--name", name,
            "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
            "--read-only", "--cap-drop", "ALL",
            "--volume", "%s:%s:ro" % (socket, SOCKET),
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


def test_container_serves_tenant_labelled_metrics(
        container: str, guests: tuple[Path, dict[str, E2EDomain]]) -> None:
    _, e2e_domains = guests

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
