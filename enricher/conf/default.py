"""Options of the [DEFAULT] group."""

from __future__ import annotations

from oslo_config import cfg

OPTS = [
    cfg.BoolOpt("debug",
                default=False,
                help="Log at DEBUG level instead of INFO."),
    cfg.FloatOpt("interval",
                 default=0.0,
                 min=0.0,
                 help="Seconds between collections by a background sampler; "
                      "every scrape is then served from the latest snapshot "
                      "and never waits on libvirt. 0 collects at scrape time "
                      "(concurrent scrapes share one collection)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", OPTS)]
