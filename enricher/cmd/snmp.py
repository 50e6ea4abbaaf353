"""Build the SNMP subagent and its notifier from ``[snmp]``."""

from __future__ import annotations

from oslo_config import cfg

from enricher.exporters.snmp import agent as snmp_agent
from enricher.exporters.snmp import mib
from enricher.exporters.snmp.notify import Notifier
from enricher.health import ErrorCounts


class Snmp:
    """The subagent and, with ``[snmp] notifications``, its notifier."""

    def __init__(self, agent: snmp_agent.Agent, notifier: Notifier | None) -> None:
        self.agent = agent
        self.notifier = notifier

    def sinks(self) -> list[Notifier]:
        """Event dispatcher sinks."""
        return [self.notifier] if self.notifier is not None else []

    def wire(self, sampler: object, connection: object) -> None:
        """Feed the agent (and notifier) every snapshot; hear libvirt closing."""
        sampler.on_snapshot.append(self.agent.on_snapshot)  # type: ignore[attr-defined]
        if self.notifier is not None:
            sampler.on_snapshot.append(self.notifier.on_snapshot)  # type: ignore[attr-defined]
            connection.on_close.append(self.notifier.on_close)  # type: ignore[attr-defined]

    def start(self) -> None:
        self.agent.start()

    def stop(self) -> None:
        self.agent.stop()


def snmp_agent_from(conf: cfg.ConfigOpts, errors: ErrorCounts) -> Snmp | None:
    """The subagent of ``[snmp]``, or None when disabled; cfg.Error on a bad option."""
    opts = conf.snmp
    if not opts.enabled:
        return None
    try:
        base = mib.parse_oid(opts.base_oid)
    except ValueError as exc:
        raise cfg.Error("[snmp] base_oid: %s" % exc) from None
    try:
        snmp_agent.parse_address(opts.agentx_address)
    except ValueError as exc:
        raise cfg.Error("[snmp] agentx_address: %s" % exc) from None
    agent = snmp_agent.Agent(opts.agentx_address, base, errors, timeout=opts.timeout,
                             reconnect_interval=opts.reconnect_interval,
                             ping_interval=opts.ping_interval)
    return Snmp(agent, Notifier(agent) if opts.notifications else None)
