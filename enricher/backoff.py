"""Exponential back-off with jitter, shared by the libvirt and Nova clients."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Exponential back-off with jitter.

    The n-th delay after n failures is drawn from
    ``[c * (1 - jitter), c]`` with ``c = min(maximum, base * factor ** n)``.
    """

    def __init__(self, base: float = 1.0, maximum: float = 300.0, factor: float = 2.0,
                 jitter: float = 0.5, rand: Callable[[], float] = random.random) -> None:
        if base <= 0 or maximum < base or factor < 1 or not 0 <= jitter <= 1:
            raise ValueError("need 0 < base <= maximum, factor >= 1, 0 <= jitter <= 1")
        self.base = base
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rand = rand
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        try:
            ceiling = min(self.maximum, self.base * self.factor ** self.failures)
        except OverflowError:
            ceiling = self.maximum
        self.failures += 1
        return ceiling * (1.0 - self.jitter * self._rand())

    def reset(self) -> None:
        """Start again from ``base`` (after a success)."""
        self.failures = 0
