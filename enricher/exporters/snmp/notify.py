"""SNMP notifications: domain events (a dispatcher sink) and libvirt becoming unreachable."""

from __future__ import annotations

import logging
import threading

from enricher.exporters.snmp import agentx, index, mib
from enricher.exporters.snmp.agent import Agent
from enricher.libvirt.events import DomainEvent
from enricher.sampler import Snapshot
from enricher.tenancy import model

LOG = logging.getLogger(__name__)

_BY_NAME = {n.name: n for n in mib.NOTIFICATIONS_}
_VM_COLUMNS = {c.name: c for c in mib.VM_TABLE.columns}
_EVENT_COLUMNS = {c.name: c for c in mib.EVENT_COLUMNS}
# A stop because the hypervisor failed; a guest crash sends "crashed" first
# (its stop, detail crashed, follows and is not sent again).
_CRASH_STOPS = frozenset({"failed"})


def notification_of(event: DomainEvent) -> mib.Notification | None:
    """The notification a domain event sends, if any."""
    if event.event == "crashed" or (event.event == "stopped"
                                    and event.detail in _CRASH_STOPS):
        return _BY_NAME["enrVmCrashed"]
    if event.event == "watchdog":
        return _BY_NAME["enrVmWatchdog"]
    if event.event == "io_error":
        return _BY_NAME["enrVmIoError"]
    return None


class Notifier:
    """Turns events into notifications sent by ``agent``.

    Call it as a dispatcher sink; ``on_snapshot`` and ``on_close`` watch
    libvirt and send enrLibvirtUnreachable once per outage.
    """

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._lock = threading.Lock()
        self._libvirt_down = False

    def __call__(self, event: DomainEvent, tenancy: model.Tenancy) -> None:
        notification = notification_of(event)
        if notification is None:
            return
        layout = self._agent.layout
        vm = self._agent.indexes.get(event.uuid)
        values = {
            "enrVmUuid": event.uuid, "enrVmDomainName": event.name,
            "enrEventType": event.event, "enrEventDetail": event.detail,
        }
        binds = []
        for name in notification.objects:
            if name in _VM_COLUMNS:
                column = _VM_COLUMNS[name]
                oid = (*layout.column(mib.VM_TABLE, column), vm)
                field = column.source.partition(":")[2]
                value = values[name] if name in values else tenancy.label_value(field)
            else:
                column = _EVENT_COLUMNS[name]
                oid = layout.event_object(column)
                value = values[name]
            binds.append(agentx.VarBind(oid, agentx.OCTET_STRING,
                                        index.encode_string(value)))
        self._agent.notify(layout.notification(notification), binds)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.libvirt_up:
            with self._lock:
                self._libvirt_down = False
        else:
            self.libvirt_down("the last collection could not reach libvirt")

    def on_close(self, reason: str) -> None:
        self.libvirt_down("libvirt closed the connection (%s)" % reason)

    def libvirt_down(self, reason: str) -> None:
        with self._lock:
            if self._libvirt_down:
                return
            self._libvirt_down = True
        layout = self._agent.layout
        up = next(c for c in mib.HEALTH_SCALARS if c.name == "enrLibvirtUp")
        kind, detail = mib.EVENT_COLUMNS
        notification = _BY_NAME["enrLibvirtUnreachable"]
        self._agent.notify(layout.notification(notification), [
            agentx.VarBind(layout.scalar(up), agentx.INTEGER, index.FALSE),
            agentx.VarBind(layout.event_object(kind), agentx.OCTET_STRING, b"libvirt_down"),
            agentx.VarBind(layout.event_object(detail), agentx.OCTET_STRING,
                           index.encode_string(reason)),
        ])
