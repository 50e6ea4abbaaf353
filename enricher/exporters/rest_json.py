"""The JSON forms the REST API serves: a domain's tenancy and one stats sample.

Everything is encoded with ``json.dumps`` (ASCII output, so any tenant or
domain name comes out intact and the body is valid UTF-8 whatever it holds);
non-finite numbers, which JSON cannot carry, become ``null``.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

from enricher.libvirt.stats import Device, DomainSample
from enricher.tenancy import model


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (NaN and infinities refused: use ``finite`` first)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def finite(value: Any) -> Any:
    """A JSON-safe scalar: non-finite floats become None, bytes are decoded."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def iso_time(timestamp: float) -> str:
    """RFC 3339 UTC time with milliseconds, as the event log writes it."""
    when = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tenancy_dict(tenancy: model.Tenancy) -> dict[str, Any]:
    """Every tenancy field (None when unknown), ports with their fixed IPs."""
    out: dict[str, Any] = {}
    for name in model.Tenancy.__dataclass_fields__:
        if name == "ports":
            out["ports"] = [{"uuid": p.uuid,
                             "ips": [{"address": ip.address, "version": ip.version,
                                      "type": ip.type} for ip in p.ips]}
                            for p in tenancy.ports]
        else:
            out[name] = getattr(tenancy, name)
    out["complete"] = tenancy.complete
    return out


def _device(device: Device) -> dict[str, Any]:
    out: dict[str, Any] = {"name": device.name}
    for key, value in device.values.items():
        if key != "name":
            out[key] = finite(value)
    return out


# Stats groups sampled on every light collection of the 1 s history ([api]
# history_interval finer than [DEFAULT] interval); the others are carried.
FAST_GROUPS = frozenset({"state", "cpu", "vcpu", "net"})


def _groups(sample: DomainSample, fast: bool) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for key, value in sample.scalars.items():
        group, _, field = key.partition(".")
        if (group in FAST_GROUPS) == fast and group != "state":
            groups.setdefault(group, {})[field or group] = finite(value)
    return {g: groups[g] for g in sorted(groups)}


def fast_dict(sample: DomainSample, timestamp: float) -> dict[str, Any]:
    """The part of a sample that the light collection refreshes: state, CPU, vCPUs, NICs."""
    return {
        "timestamp": timestamp,
        "time": iso_time(timestamp),
        "domain": sample.name,
        "active": sample.active,
        "state": sample.state,
        "state_name": sample.state_name,
        "reason": sample.reason,
        **_groups(sample, fast=True),
        "vcpus": [_device(d) for d in sample.vcpus],
        "nets": [_device(d) for d in sample.nets],
    }


def slow_dict(sample: DomainSample) -> dict[str, Any]:
    """The rest: disks and every other stats group (balloon, perf, ...)."""
    return {**_groups(sample, fast=False), "blocks": [_device(d) for d in sample.blocks]}


def sample_dict(sample: DomainSample, timestamp: float) -> dict[str, Any]:
    """One domain at one instant: libvirt's values as the snapshot has them.

    Scalars are grouped by their stats group (``cpu.time`` is ``time`` under
    ``"cpu"``); vCPUs, disks and NICs are lists of objects named by
    ``name``. Counters are libvirt's raw units (nanoseconds, KiB, bytes).
    """
    return {**fast_dict(sample, timestamp), **slow_dict(sample)}


def join(fast: bytes, slow: bytes, tenancy: bytes) -> bytes:
    """One record from its encoded parts (each a JSON object)."""
    return fast[:-1] + b"," + slow[1:-1] + b',"tenancy":' + tenancy + b"}"
