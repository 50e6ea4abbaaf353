"""What every extra-statistics selector shares: points and the selector API.

A selector turns libvirt data into :class:`Point` values of the families the
metric catalog lists for it. It may *derive* points from the bulk samples the
sampler already has (no libvirt call), *call* libvirt once per domain (run in
the worker pool, bounded by a timeout), or both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One value of one family for one domain.

    ``family`` is the exported name (declared in ``enricher.exporters.catalog``);
    ``labels`` follow that family's own labels.
    """

    family: str
    value: float
    labels: tuple[str, ...] = ()


class NotReported(Exception):
    """A selector has nothing to report for a domain, for an expected reason.

    ``outcome`` names the reason in ``enricher_extra_calls_total`` (for
    example ``no_agent``); nothing is logged above DEBUG.
    """

    def __init__(self, outcome: str, detail: str = "") -> None:
        super().__init__(detail or outcome)
        self.outcome = outcome


class Selector:
    """Base of the selectors; subclasses set the class attributes and override hooks."""

    name: str = ""
    groups: tuple[str, ...] = ()  # bulk stats groups the selector relies on
    calls: bool = False  # True when ``call`` makes a per-domain libvirt call

    def derive(self, samples: Iterable[Any], domains: Mapping[str, Any], at: float
               ) -> dict[str, list[Point]]:
        """Points computed from the bulk samples, by domain UUID (no libvirt call)."""
        return {}

    def wants(self, sample: Any) -> bool:
        """Whether ``call`` should run for this domain (active domains by default)."""
        return bool(sample.active)

    def call(self, dom: Any, sample: Any) -> list[Point]:
        """Points from one per-domain libvirt call; runs in a pool worker.

        Only selectors with ``calls = True`` are asked, and they must override it.
        """
        raise NotImplementedError("selector %r sets calls but has no call()" % self.name)


def number(value: Any) -> float | None:
    """``value`` as a float when libvirt gave a number (bools excluded), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
