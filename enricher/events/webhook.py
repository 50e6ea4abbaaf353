"""The webhook sink: POST each event as JSON, from a bounded queue, with retries."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from typing import Any

from enricher.events.worker import QueueWorker
from enricher.health import ThreadHealth

LOG = logging.getLogger(__name__)

USER_AGENT = "enricher-events/1"
_POLL = 0.5  # seconds the sender waits for work before checking for stop


def post_json(url: str, record: dict[str, Any], timeout: float) -> None:
    """POST one record; raise OSError (URLError, HTTPError, timeout) on failure."""
    request = urllib.request.Request(
        url, data=json.dumps(record, sort_keys=True).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


class WebhookSink:
    """Posts records from a bounded queue in one background thread.

    ``submit()`` never blocks: when the queue is full the record is dropped
    and counted. A post that fails is retried ``retries`` times with
    exponential back-off, then dropped and counted.
    """

    def __init__(self, url: str, timeout: float = 5.0, retries: int = 3,
                 queue_size: int = 1000, events: Collection[str] = (),
                 retry_delay: float = 1.0,
                 post: Callable[[str, dict[str, Any], float], None] = post_json,
                 threads: ThreadHealth | None = None) -> None:
        self.url = url
        self._timeout = timeout
        self._retries = retries
        self._retry_delay = retry_delay
        self._events = frozenset(events)
        self._post = post
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self._worker = QueueWorker("event-webhook", self._queue, self._run, threads)
        self._stop = self._worker.stopping
        self._lock = threading.Lock()
        self._failing = False
        self.sent = 0
        self.dropped = 0

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def _drop(self, count: int = 1) -> None:
        with self._lock:
            self.dropped += count

    def submit(self, record: dict[str, Any]) -> None:
        """Queue one record for posting; drop it (counted) if the queue is full."""
        if self._events and record.get("event") not in self._events:
            return
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._drop()
            if not self._failing:
                LOG.warning("Webhook queue full: dropping events for %s", self.url)
                self._failing = True

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)
        left = self._queue.qsize()
        if left:
            LOG.info("%d events were not posted to the webhook before stopping", left)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                record = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if record is not None:
                self.deliver(record)

    def deliver(self, record: dict[str, Any]) -> bool:
        """Post one record with retries; True if the webhook took it."""
        last: Exception | None = None
        for attempt in range(self._retries + 1):
            try:
                self._post(self.url, record, self._timeout)
            except (OSError, http.client.HTTPException) as exc:
                # URLError and HTTPError are OSErrors; so are socket timeouts.
                last = exc
                if attempt < self._retries and self._stop.wait(
                        self._retry_delay * 2 ** attempt):
                    break
                continue
            with self._lock:
                self.sent += 1
            if self._failing:
                LOG.info("Webhook %s accepts events again", self.url)
                self._failing = False
            return True
        self._drop()
        if not self._failing:
            LOG.warning("Cannot post events to the webhook %s (dropping them until "
                        "it answers): %s", self.url, last)
            self._failing = True
        return False
