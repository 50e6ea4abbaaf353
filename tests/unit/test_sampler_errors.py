"""A libvirtError in the bulk call reaches the sampler classified: disconnect or failure."""

from __future__ import annotations

from typing import Any

import libvirt
import pytest

from enricher.health import ErrorCounts
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy.resolver import Resolver
from tests.unit.test_libvirt_errors import libvirt_error


class FailingLibvirt:
    """A virConnect whose bulk stats call raises what a test decides."""

    def __init__(self, error: libvirt.libvirtError) -> None:
        self.error = error

    def getAllDomainStats(self, *_args: Any) -> list:  # noqa: N802 - libvirt's name
        raise self.error


class OneConnection:
    """The part of enricher.libvirt.connection.Connection the sampler uses."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dropped: list[str] = []

    def get(self) -> Any:
        return self.conn

    def drop(self, reason: str) -> None:
        self.dropped.append(reason)

    def mark_success(self) -> None:
        raise AssertionError("a failed collection is no success")


@pytest.mark.parametrize(("code", "domain", "counted", "dropped"), [
    (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC, "disconnected", True),
    (libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_FROM_NONE, "disconnected", True),
    (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_QEMU, "stats_failed", False),
    (libvirt.VIR_ERR_OPERATION_DENIED, libvirt.VIR_FROM_NONE, "stats_failed", False),
])
def test_a_failed_bulk_call(code: int, domain: int, counted: str, dropped: bool) -> None:
    errors = ErrorCounts()
    connection = OneConnection(FailingLibvirt(libvirt_error(code, domain, "it failed")))
    sampler = Sampler(connection, StatsReader(), Resolver(errors), errors)
    snap = sampler.collect()
    assert not snap.libvirt_up and snap.samples == ()
    assert errors.snapshot() == {("libvirt", counted): 1}
    assert connection.dropped == (["it failed"] if dropped else [])
