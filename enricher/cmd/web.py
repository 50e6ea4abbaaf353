"""The web config guard of ``[prometheus] web_config_file``, built for the service."""

from __future__ import annotations

from oslo_config import cfg

from enricher.exporters.web_config import WebConfigError
from enricher.exporters.web_guard import WebGuard


def web_guard(conf: cfg.ConfigOpts) -> WebGuard | None:
    """The guard, or None without a web config file; cfg.Error naming the key if bad."""
    path = conf.prometheus.web_config_file
    if not path:
        return None
    try:
        return WebGuard(path)
    except WebConfigError as exc:
        raise cfg.Error("invalid [prometheus] web_config_file: %s" % exc) from exc
