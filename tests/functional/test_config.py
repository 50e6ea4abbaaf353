"""Configuration: the generated sample, and start-up errors that name the option."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from oslo_config import cfg

from enricher import service
from enricher.conf import opts

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "etc" / "enricher" / "enricher.conf.sample"


def test_sample_config_matches_the_options(tmp_path) -> None:
    # In a process of its own, as tox -e genconfig runs it: start-up code run by
    # other tests (oslo.log's set_defaults) changes option defaults in this one.
    out = tmp_path / "enricher.conf.sample"
    subprocess.run([sys.executable, "-c", "import sys; from oslo_config import generator; "
                    "sys.exit(generator.main())",
                    "--config-file", str(ROOT / "etc/enricher/enricher-config-generator.conf"),
                    "--output-file", str(out)], check=True, timeout=60)
    assert out.read_text() == SAMPLE.read_text(), (
        "etc/enricher/enricher.conf.sample is stale: run tox -e genconfig")


def _run(tmp_path: pathlib.Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "enricher.conf"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.mark.parametrize(("text", "needle"), [
    ("[prometheus]\nport = 99999\n", "[prometheus] port"),
    ("[prometheus]\nport = http\n", "[prometheus] port"),
    ("[prometheus]\ntenant_labels = project_id,colour\n", "[prometheus] tenant_labels"),
    ("[libvirt]\nread_only = maybe\n", "[libvirt] read_only"),
    ("[libvirt]\nstats_groups = cpu,everything\n", "[libvirt] stats_groups"),
    ("[DEFAULT]\ninterval = -5\n", "[DEFAULT] interval"),
    ("[prometheus]\nmetric_names = kumina\n", "[prometheus] metric_names"),
    ("[libvirt\nconnection_uri = x\n", "cannot parse config file"),
    ("[statsd]\nprefix = a..b\n", "[statsd] prefix"),
    ("[statsd]\ntag_format = json\n", "[statsd] tag_format"),
    ("[statsd]\nmetrics = libvirt_domain_openstack_info\n", "[statsd] metrics"),
    ("[statsd]\ninterval = 0.5\n", "[statsd] interval"),
])
def test_bad_config_fails_at_startup_with_one_line(tmp_path, text, needle) -> None:
    result = _run(tmp_path, text)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("enricher: error: ")
    assert needle in lines[0]


def test_statsd_names_without_labels_fail_at_startup(tmp_path) -> None:
    result = _run(tmp_path, "[statsd]\nenabled = true\nname_labels =\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        "enricher: error: [statsd] name_labels may not be empty")


def test_missing_config_file_is_named(tmp_path) -> None:
    missing = tmp_path / "nope.conf"
    result = subprocess.run(
        [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(missing)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert str(missing) in result.stderr and len(result.stderr.splitlines()) == 1


def _values(conf) -> dict[tuple[str, str], object]:
    """Every registered option's value, by (group, name)."""
    values = {}
    for group, options in opts.list_opts():
        section = conf if group == "DEFAULT" else conf[group]
        for opt in options:
            try:
                values[group, opt.dest] = getattr(section, opt.dest)
            except cfg.NoSuchOptError:
                continue  # auth plugin options: registered when the plugin loads
    return values


def test_unknown_options_are_ignored(tmp_path) -> None:
    """Options nobody registered, in [DEFAULT], a known group and an unknown one,
    neither fail the start nor change any option (a misspelt name is not the option)."""
    path = tmp_path / "unknown.conf"
    path.write_text("[DEFAULT]\nno_such_option = 1\n"
                    "[libvirt]\nconnection_url = test:///default\n"
                    "[prometheus]\ncolour = blue\n"
                    "[nosuchgroup]\nx = 1\n")
    with_unknown = service.prepare(["--config-file", str(path)], default_config_files=[])
    assert with_unknown.config_file == [str(path)]
    assert _values(with_unknown) == _values(service.prepare([], default_config_files=[]))
    assert with_unknown.libvirt.connection_uri == "qemu:///system"


def test_defaults_without_a_config_file() -> None:
    conf = service.prepare([], default_config_files=[])
    assert conf.prometheus.port == 9616
    assert conf.libvirt.read_only is True
    assert conf.libvirt.connection_uri == "qemu:///system"
    assert conf.prometheus.tenant_labels == [
        "instance_uuid", "project_id", "project_name", "user_id", "user_name", "flavor"]


def test_unknown_option_in_file_is_ignored(tmp_path) -> None:
    path = tmp_path / "e.conf"
    path.write_text("[prometheus]\nport = 9700\ncolour = blue\n[nosuchgroup]\nx = 1\n")
    conf = service.prepare(["--config-file", str(path)])
    assert conf.prometheus.port == 9700
