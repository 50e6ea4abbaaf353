"""StatsD end to end on the test driver: a real enricher process, a real UDP listener.

The demo node's tenants get hostile names (every StatsD separator, a newline,
non-ASCII); every line received must parse strictly and carry them escaped,
every interval, in each tag format. A target that is down is counted.
"""

from __future__ import annotations

import pathlib
import re
import socket
import time
from collections.abc import Iterator
from xml.sax.saxutils import escape as xml_escape

import pytest

from enricher.exporters.statsd import escape
from tests import statsd_parser
from tests.functional import enricher_process

PROJECT = "web.shop|prod:eu@1#a,b=c d\nü%_"
USER = "al:ice|#x"
INSTANCE = "web front\nend.1"
WEB1 = "6a1f3b2e-4c5d-4e6f-8a9b-0c1d2e3f4a51"
PLAIN = "0f0e0d0c-0b0a-4909-8807-060504030201"  # build-box: no Nova metadata
INTERVAL = 1.0
TENANT_LABELS = "instance_name,project_name,user_name,flavor"


@pytest.fixture
def hostile_node(tmp_path: pathlib.Path) -> pathlib.Path:
    text = enricher_process.DEMO_NODE.read_text()
    for old, new in (("webshop", PROJECT), ("alice", USER), ("web-frontend-1", INSTANCE)):
        assert old in text
        text = text.replace(">%s<" % old, ">%s<" % xml_escape(new))
    path = tmp_path / "hostile-node.xml"
    path.write_text(text)
    return path


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def receive(sock: socket.socket, seconds: float) -> list[tuple[float, bytes]]:
    """Every datagram that arrives within ``seconds``, with its arrival time."""
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append((time.monotonic(), sock.recv(65535)))
        except TimeoutError:
            continue
    return got


def sends(datagrams: list[tuple[float, bytes]]) -> list[list[bytes]]:
    """Datagrams grouped into sends: a gap of half an interval starts a new one."""
    groups: list[list[bytes]] = []
    last = None
    for at, data in datagrams:
        if last is None or at - last > INTERVAL / 2:
            groups.append([])
        groups[-1].append(data)
        last = at
    return groups


@pytest.mark.parametrize("tag_format", ["none", "dogstatsd", "influxdb"])
def test_a_listener_gets_every_line_each_interval_with_hostile_names_escaped(
        tmp_path: pathlib.Path, hostile_node: pathlib.Path, listener: socket.socket,
        tag_format: str) -> None:
    extra = ("tenant_labels = %s\n[statsd]\nenabled = true\nhost = 127.0.0.1\nport = %d\n"
             "interval = %g\ntag_format = %s\nmax_datagram_bytes = 512\n"
             % (TENANT_LABELS, listener.getsockname()[1], INTERVAL, tag_format))
    with enricher_process.running(tmp_path, extra, uri="test://%s" % hostile_node) as proc:
        received = receive(listener, 3.6 * INTERVAL)
        status, body = proc.get()
    assert status == 200
    groups = sends(received)[1:]  # the first may have started before we listened
    assert len(groups) >= 2, [len(g) for g in sends(received)]
    per_send = []
    for group in groups:
        assert all(len(d) <= 512 for d in group)
        lines = [line for d in group for line in statsd_parser.parse_datagram(d, tag_format)]
        per_send.append(sorted((line.name, tuple(sorted(line.tags.items())), line.type)
                               for line in lines))
    assert all(names == per_send[0] for names in per_send), "each send has every line"
    lines = [line for d in groups[-1] for line in statsd_parser.parse_datagram(d, tag_format)]
    web1 = [line for line in lines if line.name.endswith("libvirt_domain_info_state")
            and (WEB1 in line.name or line.tags.get("uuid") == WEB1)]
    assert len(web1) == 1 and web1[0].value == 1 and web1[0].type == "g"
    if tag_format == "none":
        assert web1[0].segments[:3] == ("enricher", escape.segment(PROJECT), WEB1)
        assert escape.unescape_segment(web1[0].segments[1]) == PROJECT
        assert any(line.segments[1:3] == ("_", PLAIN) for line in lines), "no tenancy: _"
    else:
        assert web1[0].tags["project_name"] == PROJECT
        assert web1[0].tags["user_name"] == USER
        assert web1[0].tags["instance_name"] == INSTANCE
        assert web1[0].tags["flavor"] == "m1.small"
    text = body.decode()
    sent = re.search(r'^enricher_statsd_datagrams_total\{result="sent"\} (\S+)$', text, re.M)
    assert sent and float(sent.group(1)) >= len(received)
    assert 'enricher_thread_up{thread="statsd"} 1.0' in text


def test_a_down_target_is_counted_logged_once_and_scrapes_go_on(
        tmp_path: pathlib.Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens
    extra = ("[statsd]\nenabled = true\nhost = 127.0.0.1\nport = %d\ninterval = %g\n"
             % (port, INTERVAL))
    with enricher_process.running(tmp_path, extra) as proc:
        time.sleep(4 * INTERVAL)
        status, body = proc.get()
        log = proc.log_text()
    assert status == 200
    refused = re.search(r'^enricher_errors_total\{kind="refused",source="statsd"\} (\S+)$',
                        body.decode(), re.M)
    assert refused and float(refused.group(1)) >= 2, body.decode()[-2000:]
    assert log.count("StatsD target 127.0.0.1:%d: datagrams not sent" % port) == 1, log
    assert "Traceback" not in log


def test_with_the_sampler_s_interval_each_snapshot_is_sent_once(
        service_factory, listener: socket.socket) -> None:
    svc = service_factory("test://%s" % enricher_process.DEMO_NODE, interval=INTERVAL,
                          statsd__enabled=True, statsd__port=listener.getsockname()[1])
    assert svc.statsd is not None and svc.statsd.follow
    received = receive(listener, 4.3 * INTERVAL)
    collections = svc.sampler.snapshot.sequence
    groups = sends(received)
    assert abs(len(groups) - collections) <= 1, (len(groups), collections)
    assert 3 <= len(groups) <= 6
