"""The StatsD UDP sender and its error accounting, on real sockets."""

from __future__ import annotations

import logging
import pathlib
import socket
import time
from collections.abc import Iterator
from types import MappingProxyType

import pytest

from enricher.exporters.statsd import sender as sender_mod
from enricher.exporters.statsd.exporter import StatsdExporter
from enricher.exporters.statsd.lines import Formatter, Layout
from enricher.exporters.statsd.sender import UdpSender
from enricher.health import ErrorCounts
from enricher.sampler import Snapshot

EMPTY = Snapshot(samples=(), tenancy=MappingProxyType({}), libvirt_up=True,
                 collected_at=1.0, duration=0.0)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_datagrams_arrive_as_sent(listener: socket.socket) -> None:
    udp = UdpSender("127.0.0.1", listener.getsockname()[1])
    outcome = udp.send([b"a:1|g", b"b:2|c\nc:3|g"])
    assert outcome.sent == 2 and not outcome.failed
    assert [listener.recv(100), listener.recv(100)] == [b"a:1|g", b"b:2|c\nc:3|g"]
    udp.close()


def test_a_closed_port_counts_as_refused() -> None:
    udp = UdpSender("127.0.0.1", closed_port())
    outcomes = [udp.send([b"a:1|g"] * 3) for _ in range(3)]
    assert sum(o.failed[sender_mod.REFUSED] for o in outcomes) >= 1
    assert all(o.sent + o.failures == 3 for o in outcomes)
    udp.close()


def test_an_unresolvable_host_fails_every_datagram() -> None:
    def resolve(host: str, port: int):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    outcome = UdpSender("statsd.invalid", 8125, resolve=resolve).send([b"a:1|g"] * 4)
    assert outcome.sent == 0 and dict(outcome.failed) == {sender_mod.UNRESOLVABLE: 4}


def test_a_full_socket_buffer_drops_instead_of_blocking(tmp_path: pathlib.Path) -> None:
    """A Unix datagram peer that never reads: its queue fills and sends would block."""
    path = str(tmp_path / "statsd.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as peer:
        peer.bind(path)
        udp = UdpSender("local", 0, resolve=lambda _h, _p: [
            (socket.AF_UNIX, socket.SOCK_DGRAM, 0, "", path)])
        outcome = udp.send([b"x" * 1000] * 2000)
        udp.close()
    assert outcome.failed[sender_mod.WOULD_BLOCK] > 0
    assert outcome.sent + outcome.failures == 2000


def test_a_down_target_is_logged_once_counted_and_its_recovery_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    errors = ErrorCounts()
    exporter = StatsdExporter(lambda: EMPTY, Formatter(Layout()), UdpSender("127.0.0.1", port),
                              errors, 1.0, 1432)
    caplog.set_level(logging.INFO, "enricher.exporters.statsd")
    for _ in range(6):
        exporter.send_once()
    assert errors.get("statsd", sender_mod.REFUSED) >= 1
    assert exporter.stats.failed <= errors.get("statsd", sender_mod.REFUSED)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as back:
        back.bind(("127.0.0.1", port))
        back.settimeout(2)
        exporter.send_once()
        exporter.send_once()  # the first may still see the last ICMP error
        assert back.recv(100) == b"enricher.libvirt_up:1|g"
    assert "works again" in caplog.text
    assert exporter.stats.last_success > 0
    families = {f.name: f for f in exporter.families()}
    sent = {s.labels["result"]: s.value for s in families["enricher_statsd_datagrams"].samples}
    assert sent["sent"] == 8 - sent["failed"]  # refusals are reported after the fact


def test_lines_over_the_limit_are_counted_once_per_line(
        caplog: pytest.LogCaptureFixture, listener: socket.socket) -> None:
    errors = ErrorCounts()
    exporter = StatsdExporter(lambda: EMPTY, Formatter(Layout(prefix="p" * 70)),
                              UdpSender("127.0.0.1", listener.getsockname()[1]),
                              errors, 1.0, 64)
    exporter.send_once()
    exporter.send_once()
    assert errors.get("statsd", "line_too_long") == 2
    assert caplog.text.count("longer than [statsd] max_datagram_bytes") == 1


def test_following_the_sampler_sends_each_new_snapshot_once(listener: socket.socket) -> None:
    exporter = StatsdExporter(lambda: EMPTY, Formatter(Layout()),
                              UdpSender("127.0.0.1", listener.getsockname()[1]),
                              ErrorCounts(), 1.0, 1432)
    exporter.follow = True
    exporter.start()
    try:
        assert listener.recv(100) == b"enricher.libvirt_up:1|g"  # at start
        first = time.monotonic()
        listener.settimeout(0.7)
        with pytest.raises(TimeoutError):
            listener.recv(100)  # no snapshot, no clock of its own
        exporter.wake()
        listener.settimeout(0.4)
        assert listener.recv(100) == b"enricher.libvirt_up:1|g"
        assert time.monotonic() - first < 1.3
        listener.settimeout(0.9)
        with pytest.raises(TimeoutError):
            listener.recv(100)
    finally:
        exporter.stop()
