"""StatsD on real guests: counter deltas add up to what /metrics shows.

The enricher collects every second and sends DogStatsD lines after each
snapshot to a UDP listener here. For each guest, the CPU time deltas sent
between two scrapes may not exceed the increase /metrics shows between them
(and are not all zero: a running guest uses CPU); its disk and NIC counters
arrive with their device tags.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import statsd_parser
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.exposition import parse

CPU = "libvirt_domain_cpu_time_seconds_total"
PREFIX = "enricher."


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def statsd_enricher(libvirt_host: Any, e2e_domains: dict[str, E2EDomain],
                    listener: socket.socket, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[EnricherProcess]:
    config = {
        "DEFAULT": {"interval": 1},
        "events": {"enabled": "false"},
        "statsd": {"enabled": "true", "host": "127.0.0.1",
                   "port": listener.getsockname()[1], "tag_format": "dogstatsd"},
    }
    workdir = tmp_path_factory.mktemp("statsd-" + secrets.token_hex(2))
    with launch_enricher(workdir, libvirt_host.uri, config) as proc:
        yield proc


def _cpu(text: str, uuid: str) -> float:
    values = [s.value for s in parse(text).get(CPU, []) if s.labels.get("uuid") == uuid]
    assert len(values) == 1, values
    return values[0]


def _drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(65535)
        except TimeoutError:
            return


def test_cpu_deltas_add_up_to_the_exported_increase(
        statsd_enricher: EnricherProcess, listener: socket.socket,
        e2e_domains: dict[str, E2EDomain]) -> None:
    _drain(listener)
    before = statsd_enricher.scrape()
    lines = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            lines += statsd_parser.parse_datagram(listener.recv(65535), "dogstatsd")
        except TimeoutError:
            continue
    time.sleep(1.2)  # the last delta received is in the snapshot scraped next
    after = statsd_enricher.scrape()
    for dom in e2e_domains.values():
        mine = [line for line in lines if line.tags.get("uuid") == dom.uuid]
        assert mine[0].tags["project_name"] == dom.project_name
        cpu_lines = [line for line in mine if line.name == PREFIX + CPU]
        assert len(cpu_lines) >= 3 and {line.type for line in cpu_lines} == {"c"}
        cpu = [line.value for line in cpu_lines]
        increase = _cpu(after, dom.uuid) - _cpu(before, dom.uuid)
        assert 0 < sum(cpu[1:]) <= increase + 1e-6, (cpu, increase)
        devices = {line.tags.get("device") for line in mine
                   if line.name == PREFIX + "libvirt_domain_block_read_bytes_total"}
        assert devices and None not in devices
        nics = {line.tags.get("interface") for line in mine
                if line.name == PREFIX + "libvirt_domain_net_receive_bytes_total"}
        assert dom.tap in nics
