"""The HTTP layer in-process: gzip, HEAD, /healthz, slow readers, a killed sampler."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import http.client
import json
import pathlib
import socket
import threading
import time
import zlib
from types import MappingProxyType

import pytest

from enricher.exporters import endpoints
from enricher.exporters.web import Limits, Request, Response, WebServer
from enricher.health import ThreadHealth
from enricher.sampler import Snapshot
from tests.functional.conftest import parse

DEMO_NODE = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"
DEMO_URI = "test://%s" % DEMO_NODE


def request(port: int, method: str = "GET", path: str = "/metrics",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def one_gzip_member(data: bytes) -> bytes:
    """Decode exactly one gzip member, as single-member decoders do; nothing may follow."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text = decoder.decompress(data) + decoder.flush()
    assert decoder.eof, "the gzip member is truncated"
    assert decoder.unused_data == b"", "bytes after the first gzip member"
    return text


@pytest.mark.parametrize("interval", [0, 15.0])
def test_gzip_is_one_member_with_the_self_metrics(service_factory, interval: float) -> None:
    svc = service_factory(DEMO_URI, interval=interval)
    status, headers, body = request(svc.server.port, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(body)
    text = one_gzip_member(body).decode()
    samples = parse(text)
    assert samples["libvirt_up"][0].value == 1
    assert "enricher_scrape_duration_seconds" in samples  # self-metrics at the end
    assert len(samples["libvirt_domain_openstack_info"]) == 6


@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "", "br", "gzip;q=0, *;q=1",
                                    "*;q=0", "gzip;q=nan"])
def test_identity_when_gzip_is_not_acceptable(service_factory, accept: str) -> None:
    svc = service_factory(DEMO_URI)
    status, headers, body = request(svc.server.port, headers={"Accept-Encoding": accept})
    assert status == 200
    assert "content-encoding" not in headers
    assert int(headers["content-length"]) == len(body)
    assert b"libvirt_up 1.0" in body


@pytest.mark.parametrize(("header", "gzip"), [
    ("gzip", True), ("GZIP", True), ("deflate, gzip;q=0.5", True), ("*", True),
    ("x-gzip", True), ("gzip;q=0", False), ("gzip; q=0.000", False),
    ("gzip;q=0, *", False), ("identity, *;q=0", False), ("", False),
    ("br;q=1, *;q=0.1", True), ("gzip;q=abc", False),
])
def test_accepts_gzip(header: str, gzip: bool) -> None:
    assert endpoints.accepts_gzip(header) is gzip


def test_head_gets_headers_only(service_factory) -> None:
    svc = service_factory(DEMO_URI, interval=15.0)
    with socket.create_connection(("127.0.0.1", svc.server.port), timeout=5) as sock:
        sock.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert rest == b""
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    _status, _headers, body = request(svc.server.port)
    assert abs(length - len(body)) < 64  # only the per-scrape self-metrics differ


def test_landing_unknown_path_and_server_header(service_factory) -> None:
    svc = service_factory(DEMO_URI)
    status, headers, body = request(svc.server.port, path="/")
    assert status == 200 and b'href="/metrics"' in body
    assert headers["server"] == "enricher"
    assert request(svc.server.port, path="/nope")[0] == 404
    assert request(svc.server.port, method="POST")[0] == 405


def test_healthz_ok_and_unhealthy(service_factory, tmp_path) -> None:
    svc = service_factory(DEMO_URI, interval=15.0)
    status, _headers, body = request(svc.server.port, path="/healthz")
    if status == 503:  # before the first collection: not ready yet
        assert json.loads(body)["problems"] == ["no collection yet"]
    request(svc.server.port)  # waits for the first collection
    status, _headers, body = request(svc.server.port, path="/healthz")
    report = json.loads(body)
    assert status == 200, report
    assert report["status"] == "ok" and report["libvirt_up"] is True
    assert report["threads"]["sampler"] == {"running": True, "restarts": 0}

    down = service_factory("test:///%s/missing.xml" % tmp_path, interval=15.0)
    request(down.server.port)
    status, _headers, body = request(down.server.port, path="/healthz")
    assert status == 503
    assert "libvirt did not answer" in json.loads(body)["problems"][0]


def _kill_thread(thread: threading.Thread) -> None:
    """Raise SystemExit inside ``thread`` (what an unexpected bug would do)."""
    assert thread.ident is not None
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))
    assert done == 1


def _value(text: str, name: str, **labels: str) -> float | None:
    for sample in parse(text).get(name, []):
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def test_killed_sampler_is_visible_and_restarted(service_factory) -> None:
    svc = service_factory(DEMO_URI, interval=0.2)
    port = svc.server.port
    request(port)  # the first collection is in
    thread = svc.sampler._thread
    assert thread is not None
    _kill_thread(thread)
    deadline = time.monotonic() + 5
    seen_down = healthz_down = False
    while time.monotonic() < deadline:
        status, _headers, body = request(port, path="/healthz")
        if status == 503:
            assert json.loads(body)["problems"] == [
                "background threads not running: sampler"]
            healthz_down = True
        text = request(port)[2].decode()
        if _value(text, "enricher_thread_up", thread="sampler") == 0:
            seen_down = True
        if _value(text, "enricher_thread_restarts_total", thread="sampler") == 1:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the sampler was not restarted")
    assert seen_down, "the dead sampler never showed as enricher_thread_up 0"
    assert healthz_down, "/healthz never said the sampler was dead"
    assert _value(text, "enricher_thread_up", thread="sampler") == 1
    first = _value(text, "enricher_collection_timestamp_seconds")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # collections resume
        text = request(port)[2].decode()
        if _value(text, "enricher_collection_timestamp_seconds") > first:
            break
        time.sleep(0.1)
    else:
        pytest.fail("no fresh collection after the restart")


def test_a_client_that_does_not_read_is_cut_off() -> None:
    server = WebServer("127.0.0.1", 0, Limits(send_timeout=1.0))
    big = b"x" * (64 << 20)  # more than the kernel's socket buffers hold

    async def handler(_request: Request) -> Response:
        return Response(200, big)

    async def small(_request: Request) -> Response:
        return Response(200, b"ok")

    server.route("/big", handler)
    server.route("/small", small)
    server.start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
        time.sleep(0.5)
        assert request(server.port, path="/small")[2] == b"ok"  # others are served
        assert server.stats.send_timeouts == 0
        time.sleep(1.5)
        assert server.stats.send_timeouts == 1
        sock.settimeout(5)
        received = 0
        with contextlib.suppress(ConnectionResetError):  # or what the kernel held, then EOF
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        sock.close()
        assert received < len(big)  # cut off, not delivered in the end
    finally:
        server.stop()


def test_a_stale_snapshot_is_unhealthy() -> None:
    class _Sampler:
        snapshot = Snapshot(samples=(), tenancy=MappingProxyType({}), libvirt_up=True,
                            collected_at=1000.0, duration=0.1, interval=15.0)

    inputs = endpoints.HealthInputs(_Sampler(), ThreadHealth(), 15.0)  # type: ignore[arg-type]
    assert endpoints.health_report(inputs, 1000.0 + 105)[0] is True
    healthy, report = endpoints.health_report(inputs, 1000.0 + 106)
    assert not healthy and report["problems"] == ["no collection in the last 105 s"]


def test_when_every_connection_is_busy_a_newcomer_gets_503() -> None:
    server = WebServer("127.0.0.1", 0, Limits(max_connections=8))
    release = threading.Event()

    async def slow(_request: Request) -> Response:
        while not release.is_set():  # a long response in progress (an event stream)
            await asyncio.sleep(0.05)
        return Response(200, b"done")

    server.route("/slow", slow)
    server.start()
    busy = []
    try:
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            busy.append(sock)
        time.sleep(0.3)
        status, headers, body = request(server.port, path="/slow")
        assert (status, body) == (503, b"too many connections")
        assert headers["retry-after"] == "1"
        assert server.stats.rejected == 1 and server.stats.evicted == 0
        release.set()
        for sock in busy:
            sock.settimeout(5)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        release.set()
        for sock in busy:
            sock.close()
        server.stop()


def test_bad_and_oversized_requests_get_a_status_and_no_echo(service_factory) -> None:
    svc = service_factory(DEMO_URI)
    port = svc.server.port

    def exchange(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(data)
            return sock.recv(4096)

    big = exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n")
    assert big.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    bad = exchange(b"<script>alert(1)</script>\r\n\r\n")
    assert bad.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"script" not in bad
    text = request(port)[2].decode()
    assert _value(text, "enricher_http_connections_closed_total",
                  reason="header_too_large") == 1
