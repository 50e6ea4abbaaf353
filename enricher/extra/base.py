"""What every extra-statistics selector shares: family specs, points, the selector API.

A selector turns libvirt data into :class:`Point` values of the families it
declares. It may *derive* points from the bulk samples the sampler already has
(no libvirt call), *call* libvirt once per domain (run in the worker pool,
bounded by a timeout), or both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

GAUGE = "gauge"
COUNTER = "counter"


@dataclasses.dataclass(frozen=True, slots=True)
class ExtraFamily:
    """One per-VM metric family of a selector; labels come after the per-VM ones."""

    name: str  # full exposition name; counters end in _total
    type: str
    help: str
    selector: str
    labels: tuple[str, ...] = ()
    collectd: str = ""  # the collectd virt plugin type[/type-instance] it replaces

    @property
    def base_name(self) -> str:
        """The name prometheus_client wants (counters without _total)."""
        if self.type == COUNTER and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One value of one family for one domain; ``labels`` follow ``ExtraFamily.labels``."""

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
    families: tuple[ExtraFamily, ...] = ()
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
