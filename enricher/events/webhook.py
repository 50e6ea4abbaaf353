"""The webhook sink: POST each event as JSON, from a bounded queue, with retries."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Collection
from typing import Any

from enricher.events.retrying import Retry, RetryingSink
from enricher.health import ThreadHealth

USER_AGENT = "enricher-events/1"


def post_json(url: str, record: dict[str, Any], timeout: float) -> None:
    """POST one record; raise OSError (URLError, HTTPError, timeout) on failure."""
    # URIOpt(schemes=["http", "https"]) refuses file: and custom schemes.
    request = urllib.request.Request(  # noqa: S310 - scheme checked by the option
        url, data=json.dumps(record, sort_keys=True).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        response.read()


class WebhookSink(RetryingSink):
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
        self._post = post
        self._events = frozenset(events)
        super().__init__("event-webhook", self._post_one, queue_size=queue_size,
                         retries=retries, retry_delay=retry_delay,
                         retry_max=retry_delay * 2 ** max(retries, 0), threads=threads)

    def _post_one(self, record: dict[str, Any]) -> None:
        try:
            self._post(self.url, record, self._timeout)
        except (OSError, http.client.HTTPException) as exc:
            # URLError and HTTPError are OSErrors; so are socket timeouts.
            raise Retry(f"{self.url}: {exc}") from exc

    def submit(self, record: dict[str, Any]) -> bool:
        """Queue one record for posting; drop it (counted) if the queue is full."""
        if self._events and record.get("event") not in self._events:
            return False
        return super().submit(record)
