"""Options of the [prometheus] group: the /metrics endpoint and its labels."""

from __future__ import annotations

from oslo_config import cfg

from enricher.tenancy import model

GROUP = "prometheus"
DEFAULT_PORT = 9616

OPTS = [
    cfg.HostAddressOpt("host",
                       default="0.0.0.0",
                       help="Address the /metrics endpoint listens on."),
    cfg.PortOpt("port",
                default=DEFAULT_PORT,
                help="Port of the /metrics endpoint. The default is chosen "
                     "not to clash with the libvirt exporters (9177), "
                     "vexxhost's libvirtd exporter (9474) or "
                     "openstack-exporter (9180)."),
    cfg.ListOpt("tenant_labels",
                item_type=cfg.types.String(choices=model.LABEL_FIELDS),
                default=list(model.DEFAULT_TENANT_LABELS),
                help="Tenancy fields put as labels on every per-VM series. "
                     "Unknown values are exported as empty strings. Every "
                     "field is always on libvirt_domain_openstack_info, so a "
                     "short list here plus a PromQL join keeps series small."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
