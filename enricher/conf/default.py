"""Options of the [DEFAULT] group."""

from __future__ import annotations

from oslo_config import cfg

# debug, log_file, use_json, ...: oslo.log's options (enricher.service registers them).
OPTS = [
    cfg.FloatOpt("interval",
                 default=15.0,
                 min=0.0,
                 max=3600.0,
                 help="Seconds between collections by a background sampler; "
                      "every scrape, from any number of Prometheus servers, is "
                      "then served from the latest snapshot and never waits on "
                      "libvirt. Set it to your scrape interval. Domain events "
                      "(start, stop, metadata change) bring the next "
                      "collection forward. 0 collects at scrape time instead "
                      "(concurrent scrapes share one collection), so each "
                      "scraper pays for its own collections."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", OPTS)]
