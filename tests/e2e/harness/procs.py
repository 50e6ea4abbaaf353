"""Process, port, polling and HTTP-probe helpers shared by the e2e harness."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

LOG = logging.getLogger(__name__)

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A polled condition did not come true before its deadline."""


def wait_until(
    probe: Callable[[], T],
    timeout: float,
    *,
    what: str,
    interval: float = 0.2,
    details: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns a truthy value and return that value.

    Raises :class:`WaitTimeout` naming ``what`` (plus ``details()``, if given)
    once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout:.0f}s waiting for {what}"
            if details is not None:
                message += f"\n{details()}"
            raise WaitTimeout(message)
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _proc_state(pid: int) -> str | None:
    """Return the one-letter state of ``pid`` from /proc, or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie whose parent never reaps it counts as gone)."""
    return _proc_state(pid) not in (None, "Z", "X")


def pid_comm(pid: int) -> str | None:
    """Return the command name of ``pid``, or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def pids_named(name: str) -> list[int]:
    """Return the live processes whose command name is exactly ``name``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and pid_comm(int(entry.name)) == name:
            pid = int(entry.name)
            if pid_alive(pid):
                pids.append(pid)
    return sorted(pids)


def read_pid_file(path: str | Path) -> int | None:
    """Return the PID written in ``path``, or None if it is missing or empty."""
    try:
        text = Path(path).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def terminate_pid(pid: int, timeout: float = 15.0) -> None:
    """Send SIGTERM to ``pid``, then SIGKILL if it outlives ``timeout``."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: not pid_alive(pid), grace, what=f"pid {pid} to exit")
    if pid_alive(pid):
        raise RuntimeError(f"pid {pid} survived SIGKILL")


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP a process (a QEMU's monitor stops answering); SIGCONT it on exit."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file (empty if missing)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """GET ``url`` and return (status, body); connection errors give status 0."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        return 0, str(exc)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM a child we started, SIGKILL it after ``timeout``, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        LOG.warning("pid %s ignored SIGTERM; killing it", proc.pid)
        proc.kill()
        proc.wait(5)
