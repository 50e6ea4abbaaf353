"""No client can exhaust the endpoint: idle floods, huge headers, many scrapers.

Each test runs the enricher as a real process on the demo node and attacks
it over loopback the way the HTTP-layer issue measured the old server
failing (1100 idle connections under a 1024 open-file limit, 50 unfinished
multi-megabyte header blocks, 20 scrapers with new connections).
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from enricher.exporters import web
from tests.functional import enricher_process
from tests.perf import http_load

IDLE_TIMEOUT = 4.0


@pytest.fixture(autouse=True)
def _room_for_our_own_sockets() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (soft < hard and hard < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that never send a byte (made as fast as the kernel takes them)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (EOF or reset is waiting)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) missing")
def test_1100_idle_connections_under_1024_fds_do_not_stop_a_scrape(tmp_path) -> None:
    # A cap above what 1024 descriptors allow: the server lowers it itself.
    extra = "idle_timeout = %g\nmax_connections = 4096\n" % IDLE_TIMEOUT
    with enricher_process.running(tmp_path, extra,
                                  prefix=["prlimit", "--nofile=1024"]) as target:
        with idle_connections(target.port, 1100) as socks:
            time.sleep(1.0)  # all of them reached the server's accept queue
            cpu_before, wall_before = target.cpu_seconds(), time.monotonic()
            started = time.monotonic()
            status, body = target.get(timeout=2.0)
            latency = time.monotonic() - started
            assert status == 200 and b"libvirt_up 1" in body
            assert latency < 2.0
            time.sleep(1.5)
            cpu = (target.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
            assert cpu < 0.25, "the process is busy with idle connections: %.0f %%" % (
                cpu * 100)
            assert target.open_fds() < 1024
            deadline = time.monotonic() + IDLE_TIMEOUT + 5
            while time.monotonic() < deadline:
                if all(closed_by_server(s) for s in socks):
                    break
                time.sleep(0.5)
            open_ones = sum(1 for s in socks if not closed_by_server(s))
            assert open_ones == 0, "%d idle connections still open" % open_ones
        status, body = target.get(timeout=2.0)
        text = body.decode()
        assert status == 200
        cap = 1024 - web.FD_RESERVE - web.ACCEPT_BATCH
        assert "enricher_http_connections_max %.1f" % cap in text
        evicted = next(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith('enricher_http_connections_closed_total'
                                          '{reason="evicted"}'))
        assert evicted > 0  # the cap was reached and idle ones made room


def _send_unfinished_headers(port: int, headers: int, size: int,
                             stop: threading.Event) -> None:
    """Start a request and send ``headers`` headers of ``size`` bytes, never ending it."""
    value = b"v" * size
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        for i in range(headers):
            s.sendall(b"X-Big-%d: %s\r\n" % (i, value))
        stop.wait(10)  # hold the connection, never send the blank line


@pytest.mark.slow
@pytest.mark.parametrize(("headers", "size"), [(99, 65000), (2000, 4000)],
                         ids=["99x65KB", "2000x4KB"])
def test_50_unfinished_huge_header_blocks_stay_small(tmp_path, headers: int, size: int
                                                      ) -> None:
    with enricher_process.running(tmp_path) as target:
        baseline = target.status("VmRSS")
        stop = threading.Event()
        senders = [threading.Thread(target=_send_unfinished_headers,
                                    args=(target.port, headers, size, stop), daemon=True)
                   for _ in range(50)]
        for thread in senders:
            thread.start()
        time.sleep(3.0)
        assert target.get(timeout=2.0)[0] == 200
        peak = target.status("VmHWM")
        stop.set()
        for thread in senders:
            thread.join(15)
        time.sleep(1.0)
        after = target.status("VmRSS")
    assert peak < 150 * 1024, "peak RSS %d MiB" % (peak // 1024)
    assert after < baseline + 20 * 1024, "RSS %d -> %d MiB" % (baseline // 1024,
                                                              after // 1024)


@pytest.mark.slow
def test_20_scrapers_for_30_s_no_syn_drop_and_fast(tmp_path) -> None:
    with enricher_process.running(tmp_path) as target:
        window = http_load.load("127.0.0.1", target.port, 20, 30.0)
    assert window.failures == 0
    assert window.syn_drops == 0
    latencies = sorted(window.latencies)
    p99 = latencies[int(len(latencies) * 0.99)]
    assert p99 < 0.5, "p99 %.0f ms" % (p99 * 1000)
    assert len(latencies) > 1000
