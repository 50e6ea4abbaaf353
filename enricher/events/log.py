"""Events as JSON objects with tenancy: one log line each, optionally a file too."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import logging.handlers
from typing import Any

from enricher.libvirt.events import DomainEvent
from enricher.tenancy import model

LOG = logging.getLogger(__name__)

# The logger that carries the JSON objects, apart from the diagnostics.
EVENT_LOGGER = "enricher.event_log"


def to_record(event: DomainEvent, tenancy: model.Tenancy, host: str) -> dict[str, Any]:
    """The JSON-ready form of one event, shared by the log and the webhook."""
    when = datetime.datetime.fromtimestamp(event.timestamp, datetime.timezone.utc)
    record: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "timestamp": event.timestamp,
        "host": host,
        "event": event.event,
        "detail": event.detail,
        "domain": event.name,
        "uuid": event.uuid,
    }
    for field in model.LABEL_FIELDS:
        record[field] = getattr(tenancy, field)
    record["tenancy_source"] = tenancy.source
    record["attrs"] = dict(event.attrs)
    return record


class EventLog:
    """Writes each record as one JSON line on the ``enricher.event_log`` logger."""

    def __init__(self, path: str | None = None) -> None:
        self._logger = logging.getLogger(EVENT_LOGGER)
        self._handler: logging.Handler | None = None
        if path:
            handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(message)s"))
            handler.setLevel(logging.INFO)
            self._logger.addHandler(handler)
            if self._logger.getEffectiveLevel() > logging.INFO:
                self._logger.setLevel(logging.INFO)
            self._handler = handler

    def write(self, record: dict[str, Any]) -> None:
        self._logger.info("%s", json.dumps(record, sort_keys=True))

    def close(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            # Closing flushes: on a full disk that fails, and must not stop the shutdown.
            with contextlib.suppress(OSError):
                self._handler.close()
            self._handler = None
