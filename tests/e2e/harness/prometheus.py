"""Run a throwaway Prometheus server that scrapes one target every second."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.e2e.harness import procs

LOG = logging.getLogger(__name__)

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"

CONFIG_TEMPLATE = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
{rule_files}scrape_configs:
  - job_name: enricher
    static_configs:
      - targets: [{targets}]
"""


@dataclasses.dataclass
class PrometheusServer:
    """A running Prometheus and its HTTP API."""

    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        """Base URL of the web API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """File that receives Prometheus's own output."""
        return self.workdir / "prometheus.log"

    def api(self, path: str, **params: str) -> Any:
        """Call ``/api/v1/<path>`` and return its ``data``; fail on API errors."""
        query = urllib.parse.urlencode(params)
        status, body = procs.http_get(f"{self.url}/api/v1/{path}?{query}")
        if status != 200:
            raise AssertionError(f"Prometheus /api/v1/{path} -> {status}: {body[:500]}")
        payload = json.loads(body)
        if payload.get("status") != "success":
            raise AssertionError(f"Prometheus /api/v1/{path} failed: {payload}")
        return payload["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Evaluate an instant query and return its result list."""
        return list(self.api("query", query=promql)["result"])

    def targets_summary(self) -> str:
        """One line per active target: URL, health and last scrape error."""
        lines = [
            f"{t['scrapeUrl']} health={t['health']} error={t['lastError']!r}"
            for t in self.api("targets")["activeTargets"]
        ]
        return "\n".join(lines) or "no active targets"

    def wait_for(
        self,
        promql: str,
        predicate: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 60.0,
    ) -> list[dict[str, Any]]:
        """Poll ``promql`` until ``predicate(result)`` holds; return that result."""
        last: list[list[dict[str, Any]]] = [[]]

        def _probe() -> list[dict[str, Any]] | None:
            last[0] = self.query(promql)
            return last[0] if predicate(last[0]) else None

        return procs.wait_until(
            _probe,
            timeout,
            what=f"PromQL {promql!r}",
            interval=0.5,
            details=lambda: f"last result: {last[0]}\ntargets: {self.targets_summary()}",
        )


def _ready(server: PrometheusServer) -> bool:
    """True once /-/ready answers 200; raises if Prometheus exited."""
    if server.proc.poll() is not None:
        raise RuntimeError(
            f"prometheus exited {server.proc.returncode}:\n{procs.tail(server.log_path)}"
        )
    return procs.http_get(f"{server.url}/-/ready", timeout=1.0)[0] == 200


@contextlib.contextmanager
def launch_prometheus(
    workdir: Path, target: str | Sequence[str], rules: Path | Sequence[Path] | None = None,
    timeout: float = 30.0, scrape_configs: str | None = None,
) -> Iterator[PrometheusServer]:
    """Start Prometheus scraping ``target`` (host:port, or several in one job) and
    evaluating ``rules`` (rule files, if given), yield it, then stop it.
    ``scrape_configs`` (YAML list items) replaces the one job scraping ``target``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    files = [rules] if isinstance(rules, Path) else list(rules or [])
    rule_files = "rule_files:\n" + "".join(f"  - {f}\n" for f in files) if files else ""
    targets = [target] if isinstance(target, str) else list(target)
    text = CONFIG_TEMPLATE.format(
        targets=", ".join(f"'{t}'" for t in targets), rule_files=rule_files)
    if scrape_configs is not None:
        text = text.split("scrape_configs:")[0] + "scrape_configs:\n" + scrape_configs
    config.write_text(text)
    port = procs.free_port()
    argv = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with (workdir / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = PrometheusServer(proc=proc, port=port, workdir=workdir)
    LOG.info("prometheus pid %s on %s scraping %s", proc.pid, server.url, target)
    try:
        procs.wait_until(lambda: _ready(server), timeout, what="prometheus /-/ready")
        yield server
    finally:
        procs.stop_process(proc)


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """Run ``promtool check metrics`` on exposition ``text`` (via stdin)."""
    return subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
