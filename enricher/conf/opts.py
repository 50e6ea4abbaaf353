"""Every option the enricher has: for runtime registration and the generator."""

from __future__ import annotations

import itertools

from oslo_config import cfg

from enricher.conf import (
    api,
    default,
    events,
    extra,
    libvirt,
    masakari,
    nova,
    prometheus,
    snmp,
    statsd,
)

MODULES = (default, extra, libvirt, prometheus, nova, events, masakari, api, statsd, snmp)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The ``oslo.config.opts`` entry point: (group, options) pairs."""
    return list(itertools.chain.from_iterable(m.list_opts() for m in MODULES))


def register_opts(conf: cfg.ConfigOpts) -> None:
    for module in MODULES:
        module.register_opts(conf)
