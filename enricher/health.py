"""The enricher's own health: error counters shared by every part."""

from __future__ import annotations

import logging
import threading
from collections import Counter

LOG = logging.getLogger(__name__)


class ErrorCounts:
    """Thread-safe ``(source, kind) -> count``, exported as enricher_errors_total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, source: str, kind: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[(source, kind)] += amount

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def get(self, source: str, kind: str) -> int:
        with self._lock:
            return self._counts[(source, kind)]
