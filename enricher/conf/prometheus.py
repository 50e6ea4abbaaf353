"""Options of the [prometheus] group: the /metrics endpoint and its labels."""

from __future__ import annotations

from oslo_config import cfg

from enricher.exporters import profiles
from enricher.tenancy import model

GROUP = "prometheus"
DEFAULT_PORT = 9616

OPTS = [
    cfg.HostAddressOpt("host",
                       default="0.0.0.0",  # noqa: S104 - an exporter's usual default
                       help="Address the /metrics endpoint listens on "
                            "(and /healthz)."),
    cfg.PortOpt("port",
                default=DEFAULT_PORT,
                help="Port of the /metrics endpoint. The default is chosen "
                     "not to clash with the libvirt exporters (9177), "
                     "vexxhost's libvirtd exporter (9474) or "
                     "openstack-exporter (9180)."),
    cfg.IntOpt("max_connections",
               default=512, min=8, max=65536,
               help="Most client connections held open at once. A new "
                    "connection beyond it closes the one that has been idle "
                    "longest (no request in progress), or is answered 503 if "
                    "every connection is busy. It is lowered to what the "
                    "open-file limit allows (the soft limit is raised to the "
                    "hard one at start-up). Related options: idle_timeout."),
    cfg.FloatOpt("idle_timeout",
                 default=30.0, min=1.0, max=3600.0,
                 help="Seconds a connection may stay without a complete "
                      "request: from connecting, or from its previous "
                      "response, until the request headers have arrived. "
                      "Slow or idle clients are then disconnected. Keep it "
                      "above the scrape interval if you want Prometheus to "
                      "reuse connections between scrapes."),
    cfg.FloatOpt("send_timeout",
                 default=10.0, min=0.1, max=600.0,
                 help="Seconds a response may take to be sent; a client that "
                      "reads slower is disconnected."),
    cfg.IntOpt("listen_backlog",
               default=1024, min=16, max=65535,
               help="Length of the queue of connections the kernel completes "
                    "before the enricher accepts them (capped by the "
                    "net.core.somaxconn sysctl). Many scrapers connecting at "
                    "once need more than a handful."),
    cfg.StrOpt("web_config_file",
               help="Path of a Prometheus exporter-toolkit web configuration "
                    "file (the format of node_exporter's --web.config.file, "
                    "unchanged): tls_server_config (TLS, client "
                    "certificates), basic_auth_users (bcrypt hashes) and "
                    "http_server_config headers. It protects every endpoint "
                    "but /healthz. The file and the certificate files it "
                    "names are re-read when they change (checked at most "
                    "once a second) and on SIGHUP; a bad file is an error at "
                    "start-up and, later, keeps the previous one. Unset: "
                    "plain HTTP without authentication. See the security "
                    "page of the documentation."),
    cfg.ListOpt("tenant_labels",
                item_type=cfg.types.String(choices=model.LABEL_FIELDS),
                default=list(model.DEFAULT_TENANT_LABELS),
                help="Tenancy fields put as labels on every per-VM series. "
                     "Unknown values are exported as empty strings. Every "
                     "field is always on libvirt_domain_openstack_info, so a "
                     "short list here plus a PromQL join keeps series small."),
    cfg.StrOpt("metric_names",
               default=profiles.DEFAULT,
               choices=[(p.name, p.description) for p in profiles.PROFILES.values()],
               help="Naming profile of the /metrics exposition: which families, "
                    "under which names, types, units and label names. seed keeps "
                    "the enricher's own names; inovex and vadvisor export those "
                    "of the exporters their dashboards were written for, so "
                    "they work unchanged (see the migration page of the docs). "
                    "The tenant labels are added in every profile. Related "
                    "options: tenant_labels, device_info."),
    cfg.BoolOpt("device_info",
                default=False,
                help="Export libvirt_domain_block_info and "
                     "libvirt_domain_interface_info: one series per disk (serial, "
                     "i.e. the Cinder volume id, source, bus, cache...) and per "
                     "NIC (Neutron port id, fixed IPs, MAC, bridge...), from the "
                     "domain XML read with the tenancy (no extra libvirt call). "
                     "The inovex profile always exports its own info families "
                     "instead. Related options: metric_names."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
