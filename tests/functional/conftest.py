"""Shared fixtures: an enricher wired to the libvirt test driver."""

from __future__ import annotations

import pathlib
import shutil
import urllib.request
from collections.abc import Iterator, Sequence

import pytest
from oslo_config import cfg

from enricher.cmd.enricher import Service
from enricher.conf import opts
from tests import fixtures
from tests.exposition import parse as parse  # re-exported for the functional tests


def make_conf(uri: str, config_files: Sequence[str] = (), **overrides: object
              ) -> cfg.ConfigOpts:
    """Options as a config file would give them; ``group__name=value`` overrides."""
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project="enricher", default_config_files=list(config_files),
         default_config_dirs=[])
    conf.set_override("connection_uri", uri, "libvirt")
    conf.set_override("host", "127.0.0.1", "prometheus")
    conf.set_override("port", 0, "prometheus")
    # Collect at scrape time unless a test asks for the background sampler.
    conf.set_override("interval", 0)
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group or None)
    return conf


@pytest.fixture
def node_file(tmp_path: pathlib.Path) -> pathlib.Path:
    """A private copy of the fixture test-node.xml."""
    path = tmp_path / "test-node.xml"
    shutil.copy(fixtures.TEST_NODE, path)
    return path


@pytest.fixture
def service_factory() -> Iterator:
    started: list[Service] = []

    def factory(uri: str, config_files: Sequence[str] = (), **overrides: object) -> Service:
        svc = Service(make_conf(uri, config_files, **overrides))
        svc.start()
        started.append(svc)
        return svc

    yield factory
    for svc in started:
        svc.stop()


def scrape_text(svc: Service, path: str = "/metrics") -> str:
    url = "http://127.0.0.1:%d%s" % (svc.server.port, path)
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode("utf-8")
