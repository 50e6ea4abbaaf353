"""[nova] and [service_credentials] options."""

from __future__ import annotations

import subprocess
import sys

import pytest
from oslo_config import cfg

from enricher.conf import nova


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    nova.register_opts(conf)
    conf([], project="enricher", default_config_files=[], default_config_dirs=[])
    return conf


def test_defaults(conf):
    group = conf.nova
    assert (group.host, group.cloud, group.resolve_names) == (None, None, False)
    assert (group.cache_ttl, group.negative_cache_ttl, group.refresh_min_interval) == (
        3600, 600, 60)
    assert (group.timeout, group.backoff_max, group.api_version) == (10.0, 300, "2.100")
    credentials = conf.service_credentials
    assert credentials.auth_type is None
    assert credentials.interface == ["internal", "public"]
    assert credentials.region_name is None


@pytest.mark.parametrize("name, value", [
    ("api_version", "latest"), ("api_version", "3.1"), ("timeout", 0.0),
    ("cache_ttl", -1), ("negative_cache_ttl", -1), ("backoff_max", 0),
])
def test_invalid_values_are_refused(conf, name, value):
    with pytest.raises(ValueError):
        conf.set_override(name, value, group="nova")


def test_interface_choices(conf):
    conf.set_override("interface", ["public"], group="service_credentials")
    assert conf.service_credentials.interface == ["public"]
    with pytest.raises(ValueError):
        conf.set_override("interface", ["internalURL"], group="service_credentials")


def test_list_opts_lists_password_plugin_and_session_options():
    groups = dict(nova.list_opts())
    assert set(groups) == {"nova", "service_credentials"}
    names = {opt.dest: opt for opt in groups["service_credentials"]}
    for name in ("auth_type", "auth_section", "auth_url", "username", "password",
                 "project_name", "user_domain_name", "project_domain_name",
                 "cafile", "insecure", "timeout", "region_name", "interface"):
        assert name in names, name
    assert names["password"].secret


def test_help_texts_are_sentences():
    for _group, opts in nova.list_opts():
        for opt in opts:
            if opt in nova.OPTS or opt in nova.CREDENTIALS_OPTS:
                assert opt.help[0].isupper() and opt.help.endswith("."), opt.dest


def test_registering_twice_is_harmless(conf):
    nova.register_opts(conf)


def test_imports_without_libvirt():
    code = ("import sys; sys.modules['libvirt'] = None; "
            "import enricher.conf.nova, enricher.cmd.nova, enricher.tenancy.nova_api")
    subprocess.run([sys.executable, "-c", code], check=True)
