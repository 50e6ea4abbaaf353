"""`tools/demo.sh --guests 3`: per-project figures from real guests, nothing left behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.harness import private_libvirtd, procs

REPO = Path(__file__).resolve().parents[2]
PREFIX = "enr-demo-"
TIMEOUT = 300.0
ROW = re.compile(r"^(webshop|analytics)\s+([0-9.]+)\s+(\d+)\s+(\d+)$", re.M)
_why_not = private_libvirtd.unsupported()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


def leftovers() -> list[str]:
    """Processes and temp directories of a demo that are still there."""
    found = [str(p) for p in Path(tempfile.gettempdir()).glob(PREFIX + "*")]
    for pid in procs.pids_named("qemu-system-x86"):
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
        if PREFIX.encode() in cmdline:
            found.append("qemu pid %d" % pid)
    return found


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_demo_prints_per_project_figures_and_cleans_up() -> None:
    before = leftovers()
    proc = subprocess.Popen([str(REPO / "tools" / "demo.sh"), "--guests", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, env=dict(os.environ))
    assert proc.stdout is not None
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    # Read in a thread, so a demo that prints nothing cannot hold the test past TIMEOUT.
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            output.append(line)
            if "Ctrl-C to stop" in line:
                break
        text = "".join(output)
        rows = {m.group(1): [float(v) for v in m.groups()[1:]] for m in ROW.finditer(text)}
        assert set(rows) == {"webshop", "analytics"}, text
        for project, figures in rows.items():
            assert all(v > 0 for v in figures), (project, text)
        assert "3 KVM guests" in text or "3 TCG" in text, text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(timeout=10)
    rest = []
    while not lines.empty():
        rest.append(lines.get() or "")
    assert proc.returncode in (0, 128 + signal.SIGINT), "".join(output + rest)
    assert [x for x in leftovers() if x not in before] == []
