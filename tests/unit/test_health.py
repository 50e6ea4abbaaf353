"""health.supervised: a background thread that raises or returns is run again and counted."""

from __future__ import annotations

import threading
import time

import pytest

from enricher.health import ThreadHealth, supervised


def _wait(probe, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("failure", [RuntimeError("bug"), SystemExit(3), KeyboardInterrupt(),
                                     None])  # None: the body returns while not stopped
def test_a_failed_body_is_run_again_and_counted(failure: BaseException | None, caplog
                                                ) -> None:
    stop, health, runs = threading.Event(), ThreadHealth(), []
    second = threading.Event()

    def body() -> None:
        runs.append(1)
        if len(runs) == 1:
            if failure is not None:
                raise failure
            return
        second.set()
        stop.wait()

    thread = supervised("worker", body, stop, health, restart_delay=0.01)
    assert second.wait(5)
    assert health.snapshot() == {"worker": (True, 1)}
    assert "worker" in caplog.text
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert health.snapshot() == {"worker": (False, 1)}


def test_stop_during_the_restart_delay_ends_the_thread() -> None:
    stop, health = threading.Event(), ThreadHealth()

    def body() -> None:
        raise RuntimeError("bug")

    thread = supervised("worker", body, stop, health, restart_delay=30)
    _wait(lambda: health.snapshot().get("worker") == (False, 0))
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert health.snapshot() == {"worker": (False, 0)}
