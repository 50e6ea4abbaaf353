"""Run the enricher service as a subprocess against a real libvirtd."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests import exposition
from tests.e2e.harness import procs

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
MODULE = "enricher.cmd.enricher"

Config = Mapping[str, Mapping[str, object]]  # {section: {option: value}}


@dataclasses.dataclass
class EnricherProcess:
    """A running enricher and where to find its output."""

    proc: subprocess.Popen[bytes]
    port: int
    config_path: Path
    log_path: Path
    event_log: Path | None = None

    @property
    def target(self) -> str:
        """host:port for a Prometheus scrape config."""
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """URL of the exposition endpoint."""
        return f"http://{self.target}/metrics"

    def scrape(self, timeout: float = 10.0) -> str:
        """GET /metrics and return the text; fail on anything but 200."""
        status, body = procs.http_get(self.metrics_url, timeout=timeout)
        if status != 200:
            raise AssertionError(
                f"GET {self.metrics_url} -> {status}: {body[:300]}\n{self.log_tail()}"
            )
        return body

    def samples(self, timeout: float = 10.0) -> exposition.Samples:
        """One scrape, parsed: sample name -> samples."""
        return exposition.parse(self.scrape(timeout))

    def events(self) -> list[dict[str, Any]]:
        """Every JSON object of the event log so far ([events] log_file)."""
        if self.event_log is None or not self.event_log.exists():
            return []
        return [json.loads(line) for line in self.event_log.read_text().splitlines()
                if line.strip()]

    def log_text(self) -> str:
        """Everything the enricher wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the enricher's stdout/stderr, for failure messages."""
        return f"--- enricher log {self.log_path} ---\n{procs.tail(self.log_path, lines)}"


def _answers(enricher: EnricherProcess) -> bool:
    """True once /metrics answers 200; raises if the enricher exited."""
    if enricher.proc.poll() is not None:
        raise RuntimeError(
            f"enricher exited {enricher.proc.returncode} before serving\n{enricher.log_tail()}"
        )
    return procs.http_get(enricher.metrics_url, timeout=10.0)[0] == 200


def config_text(sections: Config) -> str:
    """An oslo.config file with ``sections``."""
    return "".join("[%s]\n%s" % (section, "".join("%s = %s\n" % kv for kv in options.items()))
                   for section, options in sections.items())


@contextlib.contextmanager
def launch_enricher(
    workdir: Path, uri: str = "qemu:///system", config: Config | None = None,
    timeout: float = 30.0,
) -> Iterator[EnricherProcess]:
    """Start ``python -m enricher.cmd.enricher``, yield it once it serves, stop it.

    It connects to ``uri`` and serves on a free port of 127.0.0.1; ``config``
    adds options (and may override those).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    sections: dict[str, dict[str, object]] = {
        "libvirt": {"connection_uri": uri},
        "prometheus": {"host": "127.0.0.1", "port": port},
    }
    for section, options in (config or {}).items():
        sections.setdefault(section, {}).update(options)
    path = workdir / "enricher.conf"
    path.write_text(config_text(sections))
    event_log = sections.get("events", {}).get("log_file")
    log_path = workdir / "enricher.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    argv = [sys.executable, "-m", MODULE, "--config-file", str(path)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    enricher = EnricherProcess(proc=proc, port=port, config_path=path, log_path=log_path,
                               event_log=Path(str(event_log)) if event_log else None)
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


def events_config(workdir: Path, stop_delay: float = 0.0, **events: object
                  ) -> dict[str, dict[str, object]]:
    """Options for an enricher that logs domain events to ``workdir/events.jsonl``
    and reconnects to libvirt within 2 s; ``events`` adds [events] options."""
    return {"libvirt": {"reconnect_max_interval": 2},
            "events": {"stop_delay": stop_delay, "log_file": workdir / "events.jsonl",
                       **events}}
