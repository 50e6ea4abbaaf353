"""The process lifecycle: signals under load, SIGHUP, and start-up errors."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.functional import enricher_process
from tests.functional.enricher_process import Enricher

SCRAPERS = 20
STOP_BUDGET = 5.0  # seconds, as the issue asks


def _hammer(target: Enricher, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            target.get(timeout=2)
        except OSError:
            if target.proc.poll() is not None:
                return


def _stop_under_load(target: Enricher, signum: int) -> tuple[float, int]:
    stop = threading.Event()
    scrapers = [threading.Thread(target=_hammer, args=(target, stop), daemon=True)
                for _ in range(SCRAPERS)]
    for thread in scrapers:
        thread.start()
    time.sleep(0.5)  # every scraper in flight
    sent = time.monotonic()
    target.proc.send_signal(signum)
    try:
        code = target.proc.wait(STOP_BUDGET + 5)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - sent
    stop.set()
    for thread in scrapers:
        thread.join(5)
    assert code is not None, "still running %.0f s after %s" % (took, signum)
    return took, code


@pytest.mark.slow
def test_sigterm_under_20_scrapers_stops_10_of_10(tmp_path) -> None:
    results = []
    for run in range(10):
        workdir = tmp_path / str(run)
        workdir.mkdir()
        with enricher_process.running(workdir) as target:
            results.append(_stop_under_load(target, signal.SIGTERM))
            log = target.log_text()
        assert "Stopping on SIGTERM" in log
    assert [code for _took, code in results] == [0] * 10, results
    assert max(took for took, _code in results) < STOP_BUDGET, results


def test_sigint_under_load_stops_with_exit_0(tmp_path) -> None:
    with enricher_process.running(tmp_path) as target:
        took, code = _stop_under_load(target, signal.SIGINT)
    assert code == 0 and took < STOP_BUDGET


def test_sighup_does_not_kill_it(tmp_path) -> None:
    with enricher_process.running(tmp_path) as target:
        for _ in range(3):  # apart: pending signals of one kind merge into one
            target.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        assert target.proc.poll() is None
        assert target.get()[0] == 200
        assert target.log_text().count("SIGHUP received") == 3
        target.proc.send_signal(signal.SIGTERM)
        assert target.proc.wait(STOP_BUDGET) == 0


def _start_fails(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          cwd=enricher_process.REPO)


@pytest.mark.parametrize(("value", "reason"), [
    ("inf", "less than or equal to 3600"),
    ("1e10", "less than or equal to 3600"),
    ("nan", "nan is not a finite number"),
    ("-1", "greater than or equal to 0"),
])
def test_absurd_interval_exits_2_naming_the_option(tmp_path, value: str, reason: str
                                                    ) -> None:
    config = enricher_process.write_config(tmp_path, enricher_process.free_port())
    config.write_text(config.read_text().replace("interval = 15", "interval = " + value))
    result = _start_fails(enricher_process.command(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "[DEFAULT] interval" in lines[0] and reason in lines[0]


@pytest.mark.parametrize(("section", "option", "value"), [
    ("nova", "cache_ttl", "100000000000"),
    ("prometheus", "idle_timeout", "inf"),
    ("events", "stop_delay", "nan"),
])
def test_other_unusable_numbers_exit_2(tmp_path, section: str, option: str, value: str
                                        ) -> None:
    config = enricher_process.write_config(tmp_path, enricher_process.free_port())
    config.write_text(config.read_text() + "[%s]\n%s = %s\n" % (section, option, value))
    result = _start_fails(enricher_process.command(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "[%s] %s" % (section, option) in result.stderr


def test_a_directory_as_config_file_is_a_one_line_error(tmp_path) -> None:
    result = _start_fails(enricher_process.command(tmp_path))
    assert result.returncode == 2
    assert result.stderr == "enricher: error: cannot read config file %s: Is a directory\n" \
        % tmp_path


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
def test_an_unreadable_config_file_is_a_one_line_error(tmp_path) -> None:
    config = enricher_process.write_config(tmp_path, enricher_process.free_port())
    config.chmod(0o000)
    # Same user, without the capabilities that let root read any file.
    result = _start_fails(["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                           "--inh-caps=-all", *enricher_process.command(config)])
    assert result.returncode == 2, result.stderr
    assert result.stderr == ("enricher: error: cannot read config file %s: "
                             "permission denied\n" % config)
