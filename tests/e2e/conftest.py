"""Session fixtures for the end-to-end tests: real libvirtd, guests, enricher, Prometheus.

Every test under tests/e2e is marked ``e2e``. They are skipped only when
libvirtd or QEMU is not installed (``tools/e2e-host-setup.sh`` installs them);
they need root.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from tests.e2e.harness import domains, libvirtd
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.e2e.harness.prometheus import PrometheusServer, launch_prometheus

E2E_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``e2e`` marker."""
    config.addinivalue_line("markers", "e2e: end-to-end test against real libvirtd and QEMU")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this directory ``e2e`` (before ``-m`` filters run)."""
    reason = libvirtd.missing_prerequisite()
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def libvirt_host() -> Iterator[libvirtd.LibvirtHost]:
    """A libvirtd serving qemu:///system; stopped at the end only if we started it."""
    host = libvirtd.start_libvirt()
    try:
        yield host
    finally:
        libvirtd.stop_libvirt(host)


@pytest.fixture(scope="session")
def libvirt_conn(libvirt_host: libvirtd.LibvirtHost) -> Iterator[libvirt.virConnect]:
    """A read-write connection to the test libvirtd."""
    conn = libvirtd.wait_for_connection(libvirt_host.uri, 30)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def e2e_domains(
    libvirt_host: libvirtd.LibvirtHost, libvirt_conn: libvirt.virConnect
) -> Iterator[dict[str, E2EDomain]]:
    """Two running guests: "a" with Nova 1.1 metadata, "b" with Nova 1.0."""
    domains.cleanup_leftovers(libvirt_conn)
    run_id = secrets.token_hex(3)
    workdir = domains.make_workdir(run_id)
    specs = {
        "a": domains.make_spec(run_id, "a", "1.1", workdir),
        "b": domains.make_spec(run_id, "b", "1.0", workdir),
    }
    try:
        for spec in specs.values():
            domains.boot(libvirt_conn, spec, libvirt_host.domain_type)
        yield specs
    finally:
        domains.remove_specs(libvirt_conn, specs.values())
        if workdir.exists():
            shutil.rmtree(workdir)


@pytest.fixture(scope="session")
def enricher(
    libvirt_host: libvirtd.LibvirtHost,
    e2e_domains: dict[str, E2EDomain],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EnricherProcess]:
    """The enricher service, serving /metrics for the test libvirtd."""
    with launch_enricher(tmp_path_factory.mktemp("enricher"), libvirt_host.uri) as proc:
        yield proc


@pytest.fixture(scope="session")
def prometheus(
    enricher: EnricherProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping the enricher every second."""
    with launch_prometheus(tmp_path_factory.mktemp("prometheus"), enricher.target) as server:
        yield server
