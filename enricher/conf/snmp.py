"""Options of the [snmp] group: ENRICHER-MIB served to snmpd as an AgentX subagent."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "snmp"
# RFC 5612's example enterprise number (see enricher.exporters.snmp.mib).
DEFAULT_BASE_OID = "1.3.6.1.4.1.32473.1"

OPTS = [
    cfg.BoolOpt("enabled",
                default=False,
                help="Serve the per-VM metrics and their tenancy (ENRICHER-MIB, "
                     "etc/enricher/mibs) to the host's net-snmp snmpd as an "
                     "AgentX subagent, from the same snapshot /metrics serves: "
                     "no libvirt call per SNMP request. snmpd needs ``master "
                     "agentx``. A missing snmpd is logged once and retried; it "
                     "never stops the service.\n\n"
                     "Related options:\n\n"
                     "* agentx_address, base_oid, notifications."),
    cfg.StrOpt("agentx_address",
               default="/var/agentx/master",
               help="Where snmpd's AgentX master listens (its ``agentXSocket``): "
                    "a Unix socket path, or ``tcp:HOST:PORT``."),
    cfg.StrOpt("base_oid",
               default=DEFAULT_BASE_OID,
               help="Numeric OID ENRICHER-MIB is registered under. The default "
                    "is under enterprise number 32473, which RFC 5612 reserves "
                    "for examples and documentation: production use wants your "
                    "own or a registered enterprise number. Every object keeps "
                    "its place below the base; edit the MIB file's "
                    "MODULE-IDENTITY to match (doc/source/snmp.rst)."),
    cfg.IntOpt("timeout",
               default=5,
               min=1,
               max=255,
               help="Seconds snmpd waits for the subagent's answer (the AgentX "
                    "session timeout), and the subagent for snmpd's."),
    cfg.FloatOpt("reconnect_interval",
                 default=5.0,
                 min=0.5,
                 max=30.0,
                 help="Seconds between attempts to reach snmpd when it is away; "
                      "after a restart of snmpd the MIB is registered again "
                      "within this time."),
    cfg.FloatOpt("ping_interval",
                 default=15.0,
                 min=1.0,
                 max=300.0,
                 help="Seconds of silence after which the subagent pings snmpd; "
                      "after two unanswered pings it reconnects."),
    cfg.BoolOpt("notifications",
                default=True,
                help="Send SNMP notifications through snmpd (its trap2sink / "
                     "informsink lines) when a domain crashes, its watchdog "
                     "fires or it has a disk I/O error (these need [events] "
                     "enabled), and when libvirt becomes unreachable."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
