"""etc/cadvisor/cadvisor_config.json: what cAdvisor's Prometheus collector reads.

cAdvisor (collector/config.go, prometheus_collector.go) unmarshals
``endpoint`` (a URL string, or ``{protocol, port, path}``),
``polling_frequency`` (a Go duration string, or an integer of nanoseconds;
below 1 s it is raised to 1 s) and ``metrics_config`` (sample names to keep;
more than ``-application_metrics_count_limit``, 100 by default, is an error).
It only scrapes container-local endpoints: localhost, 127.0.0.1 or ::1.
"""

from __future__ import annotations

import json
import pathlib
import re
import urllib.parse

from enricher.conf import prometheus as prometheus_conf
from enricher.exporters import catalog

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "etc" / "cadvisor" / "cadvisor_config.json"
KEYS = {"endpoint", "polling_frequency", "metrics_config"}
GO_DURATION = re.compile(r"((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+\Z")
UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
COUNT_LIMIT = 100
LOCAL = {"localhost", "127.0.0.1", "::1"}


def seconds(duration: str) -> float:
    assert GO_DURATION.match(duration), "not a Go duration: %r" % duration
    return sum(float(n) * UNITS[u]
               for n, _, u in re.findall(r"(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", duration))


def test_the_file_is_a_cadvisor_prometheus_collector_config() -> None:
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    assert isinstance(config, dict) and set(config) <= KEYS and "endpoint" in config
    url = urllib.parse.urlsplit(config["endpoint"])
    assert url.scheme in ("http", "https") and url.hostname in LOCAL
    assert url.port == prometheus_conf.DEFAULT_PORT and url.path == "/metrics"
    frequency = config["polling_frequency"]
    assert isinstance(frequency, str), "an integer would be read as nanoseconds"
    assert seconds(frequency) >= 1


def test_every_metric_it_names_is_in_the_catalog() -> None:
    names = json.loads(CONFIG.read_text(encoding="utf-8"))["metrics_config"]
    assert isinstance(names, list) and all(isinstance(n, str) for n in names)
    assert len(names) == len(set(names)) and 0 < len(names) <= COUNT_LIMIT
    assert [n for n in names if n not in catalog.BY_NAME] == []


def test_the_duration_parser_rejects_what_go_rejects() -> None:
    assert seconds("1m30s") == 90 and seconds("1.5s") == 1.5
    for bad in ("15", "15 s", "s", "-1s", "1d"):
        assert not GO_DURATION.match(bad), bad
