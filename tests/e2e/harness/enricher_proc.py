"""Run the enricher service as a subprocess against the real libvirtd."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import procs

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
MODULE = "enricher.cmd.enricher"

CONFIG_TEMPLATE = """\
[libvirt]
connection_uri = {uri}
[prometheus]
host = 127.0.0.1
port = {port}
"""


@dataclasses.dataclass
class EnricherProcess:
    """A running enricher and where to find its output."""

    proc: subprocess.Popen[bytes]
    port: int
    config_path: Path
    log_path: Path

    @property
    def target(self) -> str:
        """host:port for a Prometheus scrape config."""
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """URL of the exposition endpoint."""
        return f"http://{self.target}/metrics"

    def scrape(self) -> str:
        """GET /metrics and return the text; fail on anything but 200."""
        status, body = procs.http_get(self.metrics_url, timeout=10.0)
        if status != 200:
            raise AssertionError(
                f"GET {self.metrics_url} -> {status}: {body[:300]}\n{self.log_tail()}"
            )
        return body

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the enricher's stdout/stderr, for failure messages."""
        return f"--- enricher log {self.log_path} ---\n{procs.tail(self.log_path, lines)}"


def _answers(enricher: EnricherProcess) -> bool:
    """True once /metrics answers 200; raises if the enricher exited."""
    if enricher.proc.poll() is not None:
        raise RuntimeError(
            f"enricher exited {enricher.proc.returncode} before serving\n{enricher.log_tail()}"
        )
    return procs.http_get(enricher.metrics_url, timeout=2.0)[0] == 200


@contextlib.contextmanager
def launch_enricher(
    workdir: Path, uri: str = "qemu:///system", timeout: float = 30.0
) -> Iterator[EnricherProcess]:
    """Start ``python -m enricher.cmd.enricher``, yield it once it serves, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    config = workdir / "enricher.conf"
    config.write_text(CONFIG_TEMPLATE.format(uri=uri, port=port))
    log_path = workdir / "enricher.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    argv = [sys.executable, "-m", MODULE, "--config-file", str(config)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    enricher = EnricherProcess(proc=proc, port=port, config_path=config, log_path=log_path)
    LOG.info("enricher pid %s serving %s", proc.pid, enricher.metrics_url)
    try:
        procs.wait_until(
            lambda: _answers(enricher),
            timeout,
            what=enricher.metrics_url,
            details=enricher.log_tail,
        )
        yield enricher
    finally:
        procs.stop_process(proc)
