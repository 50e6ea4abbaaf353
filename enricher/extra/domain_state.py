"""``domain_state``: state and reason as readable labels, with collectd's severity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enricher.extra.base import Point, Selector
from enricher.libvirt.stats import STATE_NAMES

NAME = "domain_state"

OKAY, WARNING, FAILURE = 0, 1, 2
SEVERITY_NAMES = {OKAY: "okay", WARNING: "warning", FAILURE: "failure"}

# The virt plugin's notification severities by virDomainState.
SEVERITY = {
    "nostate": OKAY,
    "running": OKAY,
    "shutdown": OKAY,
    "shutoff": OKAY,
    "blocked": WARNING,
    "paused": WARNING,
    "pmsuspended": WARNING,
    "crashed": FAILURE,
}

# libvirt's per-state reason enums (virDomainRunningReason, ...), by state name.
REASONS: dict[str, tuple[str, ...]] = {
    "nostate": ("unknown",),
    "running": ("unknown", "booted", "migrated", "restored", "from_snapshot", "unpaused",
                "migration_canceled", "save_canceled", "wakeup", "crashed", "postcopy",
                "postcopy_failed"),
    "blocked": ("unknown",),
    "paused": ("unknown", "user", "migration", "save", "dump", "ioerror", "watchdog",
               "from_snapshot", "shutting_down", "snapshot", "crashed", "starting_up",
               "postcopy", "postcopy_failed", "api_error"),
    "shutdown": ("unknown", "user"),
    "shutoff": ("unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
                "from_snapshot", "daemon"),
    "crashed": ("unknown", "panicked"),
    "pmsuspended": ("unknown",),
}

INFO = "libvirt_domain_state_reason_info"
SEVERITY_FAMILY = "libvirt_domain_state_severity"


def reason_name(state: str, reason: int) -> str:
    """The readable reason of ``state``; unknown codes keep their number."""
    names = REASONS.get(state, ())
    return names[reason] if 0 <= reason < len(names) else str(reason)


def severity(state: str) -> int:
    """The collectd severity of a state name; unknown states are failures."""
    return SEVERITY.get(state, FAILURE)


class DomainState(Selector):
    """Derived from the state group of the bulk call; no extra libvirt call."""

    name = NAME

    def derive(self, samples: Iterable[Any], domains: Mapping[str, Any], at: float
               ) -> dict[str, list[Point]]:
        points = {}
        for sample in samples:
            state = STATE_NAMES.get(sample.state, str(sample.state))
            level = severity(state)
            points[sample.uuid] = [
                Point(INFO, 1, (state, reason_name(state, sample.reason),
                                SEVERITY_NAMES[level])),
                Point(SEVERITY_FAMILY, level),
            ]
        return points
