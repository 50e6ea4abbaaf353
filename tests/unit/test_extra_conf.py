"""[DEFAULT] extra_stats and its companions: what start-up accepts and rejects."""

from __future__ import annotations

import pathlib

import pytest
from oslo_config import cfg

from enricher import service
from enricher.extra import catalog
from enricher.extra.runner import ExtraRunner
from enricher.health import ErrorCounts

# The ExtraStats line TripleO deploys for the collectd virt plugin.
TRIPLEO = ("pcpu cpu_util vcpupin vcpu memory disk disk_err disk_allocation disk_capacity "
           "disk_physical domain_state job_stats_background perf")


def _prepare(tmp_path: pathlib.Path, text: str) -> cfg.ConfigOpts:
    path = tmp_path / "enricher.conf"
    path.write_text(text)
    return service.prepare(["--config-file", str(path)], default_config_files=[])


def test_empty_by_default(tmp_path: pathlib.Path) -> None:
    conf = _prepare(tmp_path, "")
    assert conf.extra_stats == []
    assert ExtraRunner.from_conf(conf, ErrorCounts()) is None


def test_a_collectd_extrastats_line_is_accepted(tmp_path: pathlib.Path) -> None:
    conf = _prepare(tmp_path, "[DEFAULT]\nextra_stats = %s\n" % TRIPLEO.replace(" ", ","))
    runner = ExtraRunner.from_conf(conf, ErrorCounts())
    try:
        assert sorted(s.name for s in runner.selectors) == sorted(TRIPLEO.split())
        groups = catalog.stats_groups(["state"], runner.selectors)
        assert set(groups) == {"state", "cpu", "vcpu", "balloon", "block", "perf"}
    finally:
        runner.stop()


@pytest.mark.parametrize(("text", "needle"), [
    ("[DEFAULT]\nextra_stats = cpu_util,colour\n", "[DEFAULT] extra_stats"),
    ("[DEFAULT]\nextra_stats_timeout = 0\n", "[DEFAULT] extra_stats_timeout"),
    ("[DEFAULT]\nextra_stats_workers = 0\n", "[DEFAULT] extra_stats_workers"),
    ("[DEFAULT]\nextra_stats_dirtyrate_period = 61\n",
     "[DEFAULT] extra_stats_dirtyrate_period"),
])
def test_bad_values_fail_naming_the_option(tmp_path: pathlib.Path, text: str,
                                           needle: str) -> None:
    with pytest.raises(service.ConfigError) as raised:
        _prepare(tmp_path, text)
    assert needle in str(raised.value)


def test_every_selector_has_a_description() -> None:
    assert len(set(catalog.NAMES)) == len(catalog.CHOICES)
    for name, description in catalog.CHOICES:
        assert description.endswith("."), name
    assert [s.name for s in catalog.build(catalog.NAMES)] == list(catalog.NAMES)
