"""The webhook sink: events with tenancy arrive on 127.0.0.1; a dead sink costs nothing."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from enricher.events.webhook import WebhookSink
from tests import fixtures
from tests.functional.conftest import parse, scrape_text
from tests.functional.test_events import A_UUID, TENANT_LABELS, expected_labels, wait_for


class Receiver(http.server.ThreadingHTTPServer):
    """Collects the JSON bodies POSTed to it; answers from ``statuses`` first."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.records: list[dict] = []
        self.attempts = 0
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/events" % self.server_address[1]


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.attempts += 1
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        if status < 300:
            assert self.headers["Content-Type"] == "application/json"
            self.server.records.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A URL whose server accepts connections (backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield "http://127.0.0.1:%d/events" % sock.getsockname()[1]
    sock.close()


def test_webhook_receives_events_with_tenancy(service_factory, node_file, receiver) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), libvirt__read_only=False,
                          events__stop_delay=0.0, events__webhook_url=receiver.url)
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    dom.suspend()
    dom.resume()
    wait_for(lambda: len(receiver.records) == 2, what="2 posts")
    want = expected_labels(A_UUID)
    first, second = receiver.records
    assert (first["event"], first["detail"]) == ("suspended", "paused")
    assert (second["event"], second["detail"]) == ("resumed", "unpaused")
    for record in receiver.records:
        assert record["uuid"] == A_UUID and record["domain"] == want["domain"]
        assert {k: record[k] for k in TENANT_LABELS} == {k: want[k] for k in TENANT_LABELS}
        assert record["instance_name"] == "web-01"
        assert record["host"] == socket.gethostname()
    values = {n: s[0].value for n, s in parse(scrape_text(svc)).items()
              if n.startswith("enricher_event_webhook")}
    assert values == {"enricher_event_webhook_sent_total": 2,
                      "enricher_event_webhook_dropped_total": 0,
                      "enricher_event_webhook_queue_length": 0}


def test_webhook_events_filter(service_factory, node_file, receiver) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), libvirt__read_only=False,
                          events__stop_delay=0.0, events__webhook_url=receiver.url,
                          events__webhook_events=["resumed"])
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    dom.suspend()
    dom.resume()
    wait_for(lambda: receiver.records, what="a post")
    wait_for(lambda: svc.events.counters.count(A_UUID, "resumed"), what="both events")
    assert [r["event"] for r in receiver.records] == ["resumed"]


def test_failed_posts_are_retried(receiver) -> None:
    receiver.statuses = [500, 503]
    sink = WebhookSink(receiver.url, timeout=2.0, retries=3, retry_delay=0.01)
    assert sink.deliver({"event": "watchdog"})
    assert receiver.attempts == 3
    assert receiver.records == [{"event": "watchdog"}]
    assert (sink.sent, sink.dropped) == (1, 0)


def test_a_post_that_keeps_failing_is_dropped_and_counted(receiver) -> None:
    receiver.statuses = [500, 500, 500]
    sink = WebhookSink(receiver.url, timeout=2.0, retries=1, retry_delay=0.01)
    assert not sink.deliver({"event": "crashed"})
    assert receiver.attempts == 2
    assert (sink.sent, sink.dropped) == (0, 1)


def test_a_full_queue_drops_new_events_without_blocking(blackhole) -> None:
    sink = WebhookSink(blackhole, queue_size=2)  # not started: nothing drains it
    started = time.monotonic()
    for n in range(5):
        sink.submit({"event": "reboot", "n": n})
    assert time.monotonic() - started < 0.1
    assert (sink.queued, sink.dropped) == (2, 3)


class Churn:
    """Suspends and resumes a domain in a loop, so that events keep flowing."""

    def __init__(self, svc) -> None:
        self._dom = svc.connection.get().lookupByUUIDString(A_UUID)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._dom.suspend()
            self._dom.resume()
            time.sleep(0.001)

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_a_dead_webhook_does_not_slow_collection(service_factory, tmp_path, blackhole) -> None:
    """Scrape (= collection, interval 0) time with a sink that never answers vs none.

    Both services run at once, with events flowing into both, and are
    scraped alternately so that load and warm-up hit both alike.
    """
    common = {"libvirt__read_only": False, "events__stop_delay": 0.0, "events__log": False}
    sinks = {
        "none": {},
        "dead": {"events__webhook_url": blackhole, "events__webhook_timeout": 2.0,
                 "events__webhook_retries": 1, "events__webhook_queue_size": 10},
    }
    services = {}
    for label, overrides in sinks.items():
        node = tmp_path / ("%s.xml" % label)
        shutil.copy(fixtures.TEST_NODE, node)
        services[label] = service_factory(fixtures.test_node_uri(node), **common, **overrides)
    times: dict[str, list[float]] = {label: [] for label in services}
    with Churn(services["none"]), Churn(services["dead"]):
        for svc in services.values():
            wait_for(lambda s=svc: s.events.dispatcher.dispatched > 20, what="events")
        for _ in range(40):
            for label, svc in services.items():
                started = time.perf_counter()
                scrape_text(svc)
                times[label].append(time.perf_counter() - started)
    sink = services["dead"].events.webhook
    assert sink.sent == 0 and sink.dropped > 0, (sink.sent, sink.dropped)
    assert services["dead"].events.queue.qsize() < 100  # dispatch kept up meanwhile
    medians = {label: statistics.median(t) for label, t in times.items()}
    worst = {label: max(t) for label, t in times.items()}
    print("scrape with no webhook: median %.1f ms, max %.1f ms; with a dead webhook: "
          "median %.1f ms, max %.1f ms; %d events dropped by the dead one"
          % (medians["none"] * 1e3, worst["none"] * 1e3, medians["dead"] * 1e3,
             worst["dead"] * 1e3, sink.dropped))
    assert medians["dead"] < medians["none"] * 1.5 + 0.005, medians
    assert worst["dead"] < 1.0, worst  # never one webhook timeout (2 s)
