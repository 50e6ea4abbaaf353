"""One bulk ``getAllDomainStats()`` call turned into immutable samples."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from enricher import exceptions
from enricher.libvirt import errors
from enricher.libvirt.binding import libvirt
from enricher.libvirt.deadline import DeadlineCaller
from enricher.libvirt.host_cpu import HostCpuTime

LOG = logging.getLogger(__name__)

# libvirt's virDomainState, as readable labels.
STATE_NAMES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}

# Stats groups by configuration name; "perf" is optional on many hosts.
GROUPS = {
    "state": "VIR_DOMAIN_STATS_STATE",
    "cpu": "VIR_DOMAIN_STATS_CPU_TOTAL",
    "balloon": "VIR_DOMAIN_STATS_BALLOON",
    "vcpu": "VIR_DOMAIN_STATS_VCPU",
    "interface": "VIR_DOMAIN_STATS_INTERFACE",
    "block": "VIR_DOMAIN_STATS_BLOCK",
    "perf": "VIR_DOMAIN_STATS_PERF",
}
DEFAULT_GROUPS = ("state", "cpu", "balloon", "vcpu", "interface", "block", "perf")

# The key prefixes each group's values come under.
GROUP_PREFIXES = {
    "state": "state.",
    "cpu": "cpu.",
    "balloon": "balloon.",
    "vcpu": "vcpu.",
    "interface": "net.",
    "block": "block.",
    "perf": "perf.",
}

# virDomainControlState: the monitor is busy with a command, or broken.
_CONTROL_OCCUPIED = getattr(libvirt, "VIR_DOMAIN_CONTROL_OCCUPIED", 2)
_CONTROL_ERROR = getattr(libvirt, "VIR_DOMAIN_CONTROL_ERROR", 3)
# virDomainState values in which QEMU has a monitor that answers: running,
# blocked, paused, pmsuspended (a paused QEMU still answers its monitor).
_MONITORED_STATES = frozenset({1, 2, 3, 7})

# Prefixes of the per-device groups: "<prefix>.<index>.<field>".
_INDEXED = ("vcpu", "block", "net")


def _has_block_figures(raw: Mapping[str, Any]) -> bool:
    """True if any disk of the record has QEMU's read counter (a monitor figure)."""
    count = raw.get("block.count", 1)
    return any(f"block.{i}.rd.bytes" in raw for i in range(max(1, count)))


@dataclasses.dataclass(frozen=True, slots=True)
class Device:
    """One vCPU, disk or NIC of a domain: its name and raw fields."""

    name: str
    values: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class DomainSample:
    """One domain at one instant, with counters as libvirt gives them."""

    uuid: str
    name: str
    active: bool
    state: int
    reason: int
    scalars: Mapping[str, Any]
    vcpus: tuple[Device, ...] = ()
    blocks: tuple[Device, ...] = ()
    nets: tuple[Device, ...] = ()

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, "unknown")


def group_flags(names: Iterable[str]) -> int:
    """OR the VIR_DOMAIN_STATS_* flags of the named groups this libvirt has."""
    flags = 0
    for name in names:
        flag = getattr(libvirt, GROUPS[name], None)
        if flag is not None:
            flags |= flag
    return flags


def _devices(prefix: str, fields: dict[int, dict[str, Any]], count: int
             ) -> tuple[Device, ...]:
    """Devices named by their ``name`` field (vCPUs by index), up to ``count``."""
    devices = []
    for index in sorted(fields):
        values = fields[index]
        if prefix == "vcpu":
            name = str(index)
        elif index >= count:
            continue
        else:
            name = str(values.get("name", index))
        devices.append(Device(name=name, values=MappingProxyType(values)))
    return tuple(devices)


def sample_from_record(dom: Any, raw: Mapping[str, Any]) -> DomainSample:
    """Turn one (virDomain, stats dict) record into a DomainSample.

    One pass over the keys: ``vcpu.N.x``, ``block.N.x`` and ``net.N.x`` go to
    their device, everything else is a scalar. Only local accessors of the
    virDomain object are used: no RPC.
    """
    scalars: dict[str, Any] = {}
    indexed: dict[str, dict[int, dict[str, Any]]] = {p: {} for p in _INDEXED}
    for key, value in raw.items():
        prefix, _, rest = key.partition(".")
        if prefix in indexed:
            index, _, field = rest.partition(".")
            if field and index.isdigit():
                indexed[prefix].setdefault(int(index), {})[field] = value
                continue
        scalars[key] = value
    return DomainSample(
        uuid=dom.UUIDString(),
        name=dom.name(),
        active=dom.ID() != -1,
        state=int(raw.get("state.state", 0)),
        reason=int(raw.get("state.reason", 0)),
        scalars=MappingProxyType(scalars),
        vcpus=_devices("vcpu", indexed["vcpu"], 0),
        blocks=_devices("block", indexed["block"], raw.get("block.count", 0)),
        nets=_devices("net", indexed["net"], raw.get("net.count", 0)),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Collection:
    """The outcome of one bulk stats call."""

    samples: tuple[DomainSample, ...]
    domains: Mapping[str, Any]
    failed: int
    duration: float
    cpu_from_cgroup: int = 0  # running domains whose CPU time came from their cgroup
    vcpu_from_proc: int = 0  # running domains whose vCPU times came from /proc
    timed_out: frozenset[str] = frozenset()  # UUIDs of domains whose QEMU does not answer
    call_timeouts: int = 0  # stats calls of this collection that hit the deadline


class StatsReader:
    """Asks libvirt for the configured stats groups, one bulk call per collection.

    ``slow_groups`` are asked for only every ``slow_every``-th collection
    (each group but state, interface and perf is a QMP round trip into every
    QEMU); in between, a domain's last values of those groups are carried
    over, as long as it was not restarted (same libvirt id).

    With ``host_cpu``, running domains' CPU time (``cpu`` group) and vCPU
    times (``vcpu`` group) are read on the host on every collection and
    those groups leave the bulk call. Domains whose figures cannot be read
    there get the group from libvirt in a second call for just them: ``cpu``
    every time, ``vcpu`` (also for shut-off domains, which cost libvirt no
    QMP) on the same schedule as the bulk call would have asked for it.

    With ``timeout`` > 0 each call has that deadline (``deadline.py``): a bulk
    call stuck on a QEMU that does not answer is left behind and made again
    at once; with NOWAIT the second call skips the stuck domain's monitor
    figures. While a call is left behind, the running domains' monitors are
    checked (``virDomainGetControlInfo``, no QEMU involved) and those busy
    with one command for at least half the deadline are ``timed_out``.
    Another client (Nova, a second exporter) may be the one stuck on a QEMU:
    then no call of ours is left behind, but NOWAIT returns that running
    domain without its monitor figures, and just those domains are checked.
    """

    def __init__(self, groups: Iterable[str] = DEFAULT_GROUPS, nowait: bool = True,
                 slow_groups: Iterable[str] = (), slow_every: int = 1,
                 host_cpu: HostCpuTime | None = None, timeout: float = 0.0) -> None:
        self._caller = DeadlineCaller(timeout, name="libvirt-stats-call")
        self._timeouts = 0
        self._stuck: frozenset[str] = frozenset()  # domains marked timed out
        self._stuck_pending = 0  # calls left behind when they were marked
        self._groups = tuple(groups)
        self._host = host_cpu
        self._host_groups = frozenset(
            g for g, wanted in (("cpu", host_cpu is not None and host_cpu.cpu),
                                ("vcpu", host_cpu is not None and host_cpu.vcpus))
            if wanted and g in self._groups)
        if not self._host_groups:
            self._host = None
        slow_set = set(slow_groups)
        bulk = tuple(g for g in self._groups if g not in self._host_groups)
        slow = tuple(g for g in bulk if g in slow_set and g != "state")
        self._vcpu_slow = "vcpu" in slow_set
        self._slow_every = (max(1, slow_every)
                            if slow or (self._vcpu_slow and "vcpu" in self._host_groups)
                            else 1)
        self._flags = group_flags(g for g in bulk if g not in slow)
        self._slow_flags = group_flags(slow)
        self._slow_prefixes = tuple(GROUP_PREFIXES[g] for g in slow)
        self._carried: dict[str, tuple[int, dict[str, Any]]] = {}
        self._vcpu_carried: dict[str, tuple[int, dict[str, Any]]] = {}
        self._count = 0
        self._asked = 0  # the groups of the last bulk call that answered
        # Running domains by UUID: (libvirt id, ever had block, balloon monitor figures).
        self._monitored: dict[str, tuple[int, bool, bool]] = {}
        self._call_flags = 0
        nowait_flag = getattr(libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0)
        if nowait:
            self._call_flags |= nowait_flag

    @property
    def groups(self) -> tuple[str, ...]:
        return self._groups

    def _records(self, conn: Any, slow: bool) -> list[tuple[Any, dict[str, Any]]]:
        flags = self._flags | (self._slow_flags if slow else 0)
        try:
            with errors.translated():
                records = self._bulk(conn, flags)
            self._asked = flags
            return records
        except exceptions.LibvirtTimeout:
            raise
        except exceptions.LibvirtError as exc:
            if not errors.refused_flags(exc):
                raise
            # An old libvirt or a driver without "perf" or NOWAIT: narrow once.
            perf = group_flags(["perf"])
            if flags & perf:
                LOG.warning("libvirt rejected the perf stats group (%s); "
                            "collecting without it", exc)
                self._flags &= ~perf
                self._slow_flags &= ~perf
            elif self._call_flags:
                LOG.warning("libvirt rejected the NOWAIT flag (%s); "
                            "collecting without it", exc)
                self._call_flags = 0
            else:
                raise
            return self._records(conn, slow)

    def _bulk(self, conn: Any, flags: int) -> list[tuple[Any, dict[str, Any]]]:
        """The bulk call under the deadline; once more at once if it was stuck."""
        try:
            return self._caller.call(conn.getAllDomainStats, flags, self._call_flags)
        except exceptions.LibvirtTimeout as exc:
            self._timeouts += 1
            if not self._call_flags:
                raise  # without NOWAIT a second call waits the same
            LOG.warning("The bulk stats call is stuck (%s); calling again, without "
                        "the monitor figures of the domains it waits for", exc)
        try:
            return self._caller.call(conn.getAllDomainStats, flags, self._call_flags)
        except exceptions.LibvirtTimeout:
            self._timeouts += 1
            raise

    def _carry(self, records: list[tuple[Any, dict[str, Any]]], slow: bool
               ) -> list[tuple[Any, dict[str, Any]]]:
        """Remember the slow groups' values, or fill them in from last time."""
        if not self._slow_prefixes:
            return records
        carried: dict[str, tuple[int, dict[str, Any]]] = {}
        out = []
        for dom, raw in records:
            uuid, dom_id = dom.UUIDString(), dom.ID()
            if slow:
                kept = {k: v for k, v in raw.items() if k.startswith(self._slow_prefixes)}
                carried[uuid] = (dom_id, kept)
            else:
                last = self._carried.get(uuid)
                if last is not None and last[0] == dom_id:
                    carried[uuid] = last
                    raw = {**last[1], **raw}
            out.append((dom, raw))
        self._carried = carried
        return out

    def _host_times(self, conn: Any, records: list[tuple[Any, dict[str, Any]]],
                    slow: bool) -> tuple[list[tuple[Any, dict[str, Any]]], int, int]:
        """Put host-read CPU and vCPU times on running domains; ask libvirt for the rest.

        Returns the records and how many domains got their CPU time and their
        vCPU times from the host.
        """
        assert self._host is not None  # noqa: S101 - type narrowing: callers check it
        cpu_flag, vcpu_flag = group_flags(["cpu"]), group_flags(["vcpu"])
        want_cpu, want_vcpu = "cpu" in self._host_groups, "vcpu" in self._host_groups
        out: list[tuple[Any, dict[str, Any]]] = []
        missing: dict[int, list[int]] = {}  # group flags -> indexes into out
        from_cgroup = from_proc = 0
        seen = set()
        for dom, raw in records:
            uuid, dom_id = dom.UUIDString(), dom.ID()
            seen.add(uuid)
            flags = 0
            times = self._host.read(uuid, dom.name(), dom_id) if dom_id != -1 else None
            if want_cpu and times is not None:
                if times.cpu is not None:
                    raw = {**raw, **times.cpu}
                    from_cgroup += 1
                else:
                    flags |= cpu_flag
            if want_vcpu:
                if times is not None and times.vcpus is not None:
                    raw = {**raw, **times.vcpus}
                    from_proc += 1
                    self._vcpu_carried.pop(uuid, None)
                else:
                    last = self._vcpu_carried.get(uuid)
                    if slow or not self._vcpu_slow or last is None or last[0] != dom_id:
                        flags |= vcpu_flag
                    else:
                        raw = {**raw, **last[1]}
            out.append((dom, raw))
            if flags:
                missing.setdefault(flags, []).append(len(out) - 1)
        self._host.forget(seen)
        for uuid in [u for u in self._vcpu_carried if u not in seen]:
            del self._vcpu_carried[uuid]
        for flags, indexes in missing.items():
            fresh = self._groups_of([out[i][0] for i in indexes], flags, conn)
            for index in indexes:
                dom, raw = out[index]
                extra = fresh.get(dom.UUIDString())
                if extra is None:
                    continue
                out[index] = (dom, {**raw, **extra})
                if flags & vcpu_flag:
                    vcpus = {k: v for k, v in extra.items() if k.startswith("vcpu.")}
                    self._vcpu_carried[dom.UUIDString()] = (dom.ID(), vcpus)
        return out, from_cgroup, from_proc

    def _groups_of(self, doms: list[Any], flags: int, conn: Any) -> dict[str, dict[str, Any]]:
        """Some groups of ``doms`` alone, by UUID; empty if libvirt refuses."""
        try:
            with errors.translated():
                records = self._caller.call(conn.domainListGetStats, doms, flags,
                                            self._call_flags)
        except exceptions.LibvirtError as exc:
            if isinstance(exc, exceptions.LibvirtTimeout):
                self._timeouts += 1
            if isinstance(exc, exceptions.LibvirtDisconnected):
                raise
            LOG.warning("Could not read the cpu or vcpu stats group of %d domain(s) "
                        "whose figures cannot be read on the host: %s", len(doms), exc)
            return {}
        return {dom.UUIDString(): raw for dom, raw in records}

    def _without_monitor(self, records: list[tuple[Any, dict[str, Any]]]) -> frozenset[str]:
        """UUIDs of running domains the last NOWAIT call gave no monitor figures
        although an earlier call did (same libvirt id).

        libvirt takes a domain's job once for all groups of a call; with NOWAIT
        a domain whose job another call holds comes back with only what needs
        no monitor: no ``block.<n>.rd.bytes`` and no ``balloon.rss``. A domain
        never seen with them (no disk, a driver without these groups) is
        never suspected.
        """
        if self._caller.timeout <= 0 or not self._call_flags:
            return frozenset()
        block = bool(self._asked & group_flags(["block"]))
        balloon = bool(self._asked & group_flags(["balloon"]))
        if not (block or balloon):
            self._monitored = {}
            return frozenset()
        monitored: dict[str, tuple[int, bool, bool]] = {}
        suspects = set()
        for dom, raw in records:
            dom_id = dom.ID()
            if dom_id == -1 or int(raw.get("state.state", 0)) not in _MONITORED_STATES:
                continue
            uuid = dom.UUIDString()
            last_id, had_block, had_balloon = self._monitored.get(uuid, (dom_id, False, False))
            if last_id != dom_id:
                had_block = had_balloon = False  # restarted: a new QEMU
            got_block = block and _has_block_figures(raw)
            got_balloon = balloon and "balloon.rss" in raw
            if not (got_block or got_balloon) and (
                    (block and had_block) or (balloon and had_balloon)):
                suspects.add(uuid)
            monitored[uuid] = (dom_id, had_block or got_block, had_balloon or got_balloon)
        self._monitored = monitored
        return frozenset(suspects)

    def _timed_out(self, records: list[tuple[Any, dict[str, Any]]],
                   suspects: frozenset[str] = frozenset()) -> frozenset[str]:
        """UUIDs of running domains whose monitor has been busy with one command
        for half the deadline or more, or is broken.

        While a call of ours is left behind, every running domain is checked;
        domains already marked stay marked, unchecked, until a call left
        behind comes back (then all are checked again): asking a stuck domain
        again may itself hang. A check that misses the deadline marks the
        domain it was asking about. With no call left behind only the
        ``suspects`` (``_without_monitor``) are checked, on every collection.
        """
        pending = self._caller.pending
        if not pending and not suspects:
            self._stuck, self._stuck_pending = frozenset(), 0
            return self._stuck
        if not pending:
            self._stuck = frozenset()
        elif pending < self._stuck_pending:
            self._stuck = frozenset()  # a call came back: look at every domain again
        threshold_ms = self._caller.timeout * 500
        known = self._stuck
        asking: list[str] = []

        def check() -> set[str]:
            stuck = set()
            for dom, _raw in records:
                uuid = dom.UUIDString()
                if dom.ID() == -1 or uuid in known or (not pending and uuid not in suspects):
                    continue
                asking.append(uuid)
                try:
                    state, _details, state_ms = dom.controlInfo()[:3]
                except libvirt.libvirtError as exc:
                    if errors.is_disconnection(exc):
                        raise
                    continue  # gone or stopped meanwhile
                if state == _CONTROL_ERROR or (
                        state == _CONTROL_OCCUPIED and state_ms >= threshold_ms):
                    stuck.add(uuid)
            asking.clear()
            return stuck

        try:
            found = self._caller.call(check)
        except exceptions.LibvirtTimeout:
            self._timeouts += 1
            found = set(asking[-1:])
            LOG.warning("libvirt did not answer in time whether domain %s is stuck; "
                        "taking it as stuck", found or "?")
        present = {dom.UUIDString() for dom, _raw in records}
        self._stuck = frozenset((known | found) & present)
        self._stuck_pending = self._caller.pending
        return self._stuck

    def collect(self, conn: Any) -> Collection:
        """One bulk call; records that cannot be turned into samples are counted.

        A failed call raises the project's LibvirtError (LibvirtDisconnected
        when the connection broke, LibvirtTimeout when even the second call
        missed the deadline).
        """
        start = time.monotonic()
        slow = self._count % self._slow_every == 0
        self._count += 1
        self._timeouts = 0
        with errors.translated():
            records = self._records(conn, slow)
            suspects = self._without_monitor(records)
            records = self._carry(records, slow)
            from_cgroup = from_proc = 0
            if self._host is not None:
                records, from_cgroup, from_proc = self._host_times(conn, records, slow)
            timed_out = self._timed_out(records, suspects)
        samples = []
        domains = {}
        failed = 0
        for dom, raw in records:
            try:
                sample = sample_from_record(dom, raw)
                samples.append(sample)
                domains[sample.uuid] = dom
            except (libvirt.libvirtError, ValueError, TypeError) as exc:
                failed += 1
                LOG.warning("Skipping a domain whose stats could not be read: %s", exc)
        return Collection(tuple(samples), MappingProxyType(domains), failed,
                          time.monotonic() - start, from_cgroup, from_proc,
                          timed_out, self._timeouts)

    @property
    def timeouts(self) -> int:
        """Calls of the last collection that missed the deadline."""
        return self._timeouts
