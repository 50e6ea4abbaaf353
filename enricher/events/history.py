"""Recent domain events with tenancy, for ``/api/v1.0/events``, and their subscribers.

A dispatcher sink: each event is turned into its JSON record once (the
event log's fields plus vAdvisor's ``domain_name``, ``domain_id``,
``event_type`` and ``reason``), kept in a bounded deque, and handed to every
subscriber (a stream's callback, which must not block: it hands the item to
the HTTP loop and returns).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

from enricher.events.log import to_record
from enricher.libvirt.event_types import LIFECYCLE
from enricher.libvirt.events import DomainEvent
from enricher.tenancy import model

# vAdvisor's event_type of each lifecycle event (its LIFECYCLE_EVENTS).
VADVISOR_TYPES = {name: ("PMSuspended" if name == "pmsuspended" else name.capitalize())
                  for name, _ in LIFECYCLE}


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One recorded event: when, which kind, and its JSON line (no newline)."""

    timestamp: float
    event: str
    json: bytes


def record_of(event: DomainEvent, tenancy: model.Tenancy, host: str) -> dict[str, Any]:
    """The API's JSON object of one event."""
    record = to_record(event, tenancy, host)
    record["domain_name"] = event.name
    record["domain_id"] = event.uuid
    record["event_type"] = VADVISOR_TYPES.get(event.event, event.event)
    record["reason"] = event.detail
    return record


class EventHistory:
    """The last ``size`` events, oldest first, and the callbacks of open streams."""

    def __init__(self, size: int, host: str | None = None) -> None:
        self._items: collections.deque[Item] = collections.deque(maxlen=max(size, 0))
        self._host = host or socket.gethostname()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Item], None]] = []
        self.recorded = 0

    def __call__(self, event: DomainEvent, tenancy: model.Tenancy) -> None:
        """The dispatcher sink."""
        line = json.dumps(record_of(event, tenancy, self._host), sort_keys=True,
                          default=str).encode("ascii")
        item = Item(event.timestamp, event.event, line)
        with self._lock:
            self._items.append(item)
            self.recorded += 1
            subscribers = tuple(self._subscribers)
        for callback in subscribers:
            callback(item)

    def items(self) -> tuple[Item, ...]:
        with self._lock:
            return tuple(self._items)

    def subscribe(self, callback: Callable[[Item], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[Item], None]) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
