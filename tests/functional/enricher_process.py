"""The enricher as a real process on the demo node, for lifecycle and load tests."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO_NODE = REPO / "enricher" / "demo" / "demo-node.xml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Enricher:
    """A running enricher: its process, port and log file."""

    proc: subprocess.Popen[bytes]
    port: int
    log: pathlib.Path
    https: ssl.SSLContext | None = None  # TLS client context when serving TLS

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str = "/metrics", timeout: float = 10.0,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = (http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                if self.https is None else
                http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                            context=self.https))
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def status(self, field: str) -> int:
        """A field of /proc/<pid>/status in kB (VmRSS, VmHWM) or a count (Threads)."""
        text = pathlib.Path("/proc/%d/status" % self.pid).read_text()
        line = next(x for x in text.splitlines() if x.startswith(field + ":"))
        return int(line.split()[1])

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used."""
        fields = pathlib.Path("/proc/%d/stat" % self.pid).read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def open_fds(self) -> int:
        return len(os.listdir("/proc/%d/fd" % self.pid))


def write_config(workdir: pathlib.Path, port: int, extra: str = "",
                 uri: str | None = None) -> pathlib.Path:
    config = workdir / "enricher.conf"
    config.write_text("[DEFAULT]\ninterval = 15\n"
                      "[libvirt]\nconnection_uri = %s\n"
                      "[prometheus]\nhost = 127.0.0.1\nport = %d\n%s"
                      % (uri or "test://%s" % DEMO_NODE, port, extra))
    return config


def command(config: pathlib.Path) -> list[str]:
    return [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(config)]


@contextlib.contextmanager
def running(workdir: pathlib.Path, extra: str = "", prefix: Sequence[str] = (),
            timeout: float = 30.0, uri: str | None = None,
            https: ssl.SSLContext | None = None, ready: str = "/metrics"
            ) -> Iterator[Enricher]:
    """Start the enricher (behind ``prefix``, e.g. prlimit), yield once ``ready``
    answers 200 (over TLS with the ``https`` client context if given)."""
    port = free_port()
    config = write_config(workdir, port, extra, uri)
    log = workdir / ("enricher-%d.log" % port)
    with log.open("wb") as out:
        proc = subprocess.Popen([*prefix, *command(config)], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)
    target = Enricher(proc, port, log, https)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError("enricher exited %s:\n%s"
                                     % (proc.returncode, target.log_text()))
            with contextlib.suppress(OSError, http.client.HTTPException):
                if target.get(ready, timeout=2)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("enricher did not serve:\n" + target.log_text())
            time.sleep(0.1)
        yield target
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
