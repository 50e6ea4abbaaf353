"""pytest set-up for the benchmark smoke test."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register ``e2e`` here too, for runs of tests/perf alone."""
    config.addinivalue_line("markers", "e2e: end-to-end test against real libvirtd and QEMU")
