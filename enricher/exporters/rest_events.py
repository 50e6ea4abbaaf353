"""``/api/v1.0/events``: vAdvisor's query parameters over the event history, or a stream.

Parameters (vAdvisor's names): ``stream``, ``start_time``, ``end_time``,
``max_events`` (default 10; 0 or -1 for no limit), ``all_events`` and one
``<kind>_events`` per event kind (``started_events``, ``watchdog_events``,
...). Booleans are ``true`` or ``false``; times RFC 3339 / ISO 8601 (UTC
when no offset is given) or Unix seconds. Unlike vAdvisor, no kind
selected means every kind, and the history answers the *latest*
``max_events`` events in the window, oldest first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import math
import urllib.parse
from collections.abc import AsyncIterator, Mapping

from enricher.events.history import EventHistory, Item
from enricher.libvirt.event_types import EVENT_NAMES

DEFAULT_MAX_EVENTS = 10
KIND_PARAMETERS = {name + "_events": name for name in EVENT_NAMES}
BOOLEAN_PARAMETERS = ("stream", "all_events", *KIND_PARAMETERS)
PARAMETERS = (*BOOLEAN_PARAMETERS, "start_time", "end_time", "max_events")
# Events a stream may have waiting for a slow client before it is ended.
STREAM_BACKLOG = 1000
KEEPALIVE = b"\n"


class BadParameter(ValueError):
    """A query parameter the API cannot use; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclasses.dataclass(frozen=True, slots=True)
class EventQuery:
    stream: bool = False
    start_time: float = -math.inf
    end_time: float = math.inf
    max_events: int = DEFAULT_MAX_EVENTS  # 0: no limit
    kinds: frozenset[str] | None = None  # None: every kind

    def matches(self, item: Item) -> bool:
        return self.kinds is None or item.event in self.kinds


def last_values(query: str) -> dict[str, str]:
    """Query parameters, the last value of each (blank values kept)."""
    return {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}


def boolean(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadParameter(name, "%s must be true or false, not %r" % (name, value[:64]))


def timestamp(params: Mapping[str, str], name: str, default: float) -> float:
    value = params.get(name)
    if value is None:
        return default
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
        raise BadParameter(name, "%s must be a finite time" % name)
    try:
        when = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadParameter(name, "%s is not an ISO 8601 time or Unix seconds: %r"
                           % (name, value[:64])) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):
        raise BadParameter(name, "%s is out of range" % name) from None


def parse(query: str) -> EventQuery:
    """The query of a request; BadParameter names the first unusable one."""
    params = last_values(query)
    kinds = {kind for name, kind in KIND_PARAMETERS.items() if boolean(params, name)}
    every = boolean(params, "all_events")
    max_events = DEFAULT_MAX_EVENTS
    if "max_events" in params:
        try:
            max_events = int(params["max_events"].strip())
        except ValueError:
            raise BadParameter("max_events", "max_events must be an integer, not %r"
                               % params["max_events"][:64]) from None
        if max_events < -1:
            raise BadParameter("max_events", "max_events must be -1, 0 or more")
        max_events = max(max_events, 0)
    start = timestamp(params, "start_time", -math.inf)
    end = timestamp(params, "end_time", math.inf)
    if start > end:
        raise BadParameter("start_time", "start_time is after end_time")
    return EventQuery(stream=boolean(params, "stream"), start_time=start, end_time=end,
                      max_events=max_events,
                      kinds=None if every or not kinds else frozenset(kinds))


def select(history: EventHistory, query: EventQuery) -> list[bytes]:
    """The JSON lines of the latest matching events in the window, oldest first."""
    chosen = [item.json for item in history.items()
              if query.start_time <= item.timestamp <= query.end_time and query.matches(item)]
    return chosen[-query.max_events:] if query.max_events else chosen


def render(history: EventHistory, query: EventQuery) -> bytes:
    return b"[" + b",".join(select(history, query)) + b"]"


async def stream(history: EventHistory, query: EventQuery, keepalive: float
                 ) -> AsyncIterator[bytes]:
    """Matching events as JSON lines as they happen; a blank line after
    ``keepalive`` seconds of silence. Ends if the client falls
    ``STREAM_BACKLOG`` events behind."""
    loop = asyncio.get_running_loop()
    waiting: asyncio.Queue[Item | None] = asyncio.Queue()

    def offer(item: Item | None) -> None:
        if item is not None and waiting.qsize() >= STREAM_BACKLOG:
            item = None  # too far behind: end the stream
        waiting.put_nowait(item)

    def on_event(item: Item) -> None:  # the dispatcher's thread
        if query.matches(item):
            try:
                loop.call_soon_threadsafe(offer, item)
            except RuntimeError:  # the HTTP loop has stopped
                pass

    history.subscribe(on_event)
    try:
        while True:
            try:
                item = await asyncio.wait_for(waiting.get(), keepalive)
            except asyncio.TimeoutError:
                yield KEEPALIVE
                continue
            if item is None:
                yield b'{"error": "the client fell too far behind; reconnect"}\n'
                return
            yield item.json + b"\n"
    finally:
        history.unsubscribe(on_event)
