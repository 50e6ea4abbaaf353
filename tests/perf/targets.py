"""Scrape targets run as subprocesses: the enricher with a benchmark config."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tests.e2e.harness import procs

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Target:
    """A running exporter: its process, /metrics URL and log."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        return f"--- {self.name} log {self.log_path} ---\n{procs.tail(self.log_path, lines)}"


def enricher_config(uri: str, port: int, interval: float,
                    stats_groups: Sequence[str] | None = None, extra: str = "") -> str:
    """The enricher's config file text for one benchmark run."""
    lines = ["[DEFAULT]", f"interval = {interval:g}",
             "[libvirt]", f"connection_uri = {uri}"]
    if stats_groups:
        lines.append("stats_groups = " + ",".join(stats_groups))
    lines += ["[prometheus]", "host = 127.0.0.1", f"port = {port}", "[events]", "log = false"]
    return "\n".join(lines) + "\n" + extra


def frozen_source(workdir: Path, root: Path = REPO_ROOT) -> Path:
    """A copy of ``root``'s ``enricher/`` taken once per run, so that edits to the
    work tree during a long run cannot change the code later windows measure
    (``root``: another checkout, to measure an older release side by side)."""
    dest = workdir / "src"
    if not (dest / "enricher").exists():
        shutil.copytree(root / "enricher", dest / "enricher",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def source_version() -> str:
    """The work tree's commit, and "+dirty" if enricher/ differs from it."""
    def git(*argv: str) -> str:
        result = subprocess.run(["git", "-C", str(REPO_ROOT), *argv], capture_output=True,
                                text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "enricher") else "")


def _wait_serving(target: Target, timeout: float,
                  probe: Callable[[], bool] | None = None) -> None:
    def answers() -> bool:
        if target.proc.poll() is not None:
            raise RuntimeError(f"{target.name} exited {target.proc.returncode} before "
                               f"serving\n{target.log_tail()}")
        if probe is not None:
            return probe()
        return procs.http_get(target.url, timeout=max(2.0, timeout / 4))[0] == 200

    procs.wait_until(answers, timeout, what=target.url, interval=0.1,
                     details=target.log_tail)


@contextlib.contextmanager
def run_process(name: str, argv: Sequence[str], url: str, log_path: Path,
                timeout: float = 60.0, env: dict[str, str] | None = None,
                cwd: Path = REPO_ROOT, probe: Callable[[], bool] | None = None
                ) -> Iterator[Target]:
    """Start ``argv``, yield it once ``url`` answers 200 (or ``probe()`` is true),
    stop it (SIGTERM, then SIGKILL)."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    target = Target(name, proc, url, log_path)
    try:
        _wait_serving(target, timeout, probe)
        yield target
    finally:
        procs.stop_process(proc)


@contextlib.contextmanager
def enricher(workdir: Path, uri: str, interval: float,
             stats_groups: Sequence[str] | None = None, extra_conf: str = "",
             timeout: float = 120.0, source: Path | None = None,
             probe: Callable[[int], bool] | None = None) -> Iterator[Target]:
    """Run ``python -m enricher.cmd.enricher`` with a fresh config; yield once it serves
    (``source``: run that checkout's enricher/ instead of this one's; ``probe(port)``:
    how to tell, for a server plain HTTP cannot ask)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    config = workdir / f"enricher-{port}.conf"
    config.write_text(enricher_config(uri, port, interval, stats_groups, extra_conf))
    src = (frozen_source(workdir) if source is None
           else frozen_source(workdir / "baseline", source))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(config)]
    with run_process("enricher", argv, f"http://127.0.0.1:{port}/metrics",
                     workdir / f"enricher-{port}.log", timeout, env, src,
                     None if probe is None else lambda: probe(port)) as target:
        yield target
