"""The minute of per-domain stats history behind ``/api/v1.0/stats``.

A bounded ring per domain, fed with every snapshot (``Sampler.on_snapshot``)
or by the light history sampler. A record is encoded to JSON once, when it
is added, and never changes: a request only joins bytes, whatever its
number. A record is two parts: what the light 1 s collection refreshes
(state, CPU, vCPUs, NICs) and the rest, which a light record shares, by
reference, with the full collection it was carried from. The rings are
tuples in a dict that is replaced whole on each update, so readers (the
HTTP loop) take no lock. Memory is bounded by ``seconds / interval + 1``
records per domain; a domain's ring goes once its newest record is older
than the window.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from enricher.exporters import rest_json
from enricher.libvirt.stats import DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model


@dataclasses.dataclass(frozen=True, slots=True)
class Ring:
    """One domain's history: its tenancy (encoded once) and records, oldest first."""

    name: str
    tenancy: model.Tenancy
    tenancy_json: bytes
    timestamps: tuple[float, ...]
    records: tuple[tuple[bytes, bytes], ...]  # (fast, slow) JSON objects, no tenancy

    def record_with_tenancy(self, index: int) -> bytes:
        fast, slow = self.records[index]
        return rest_json.join(fast, slow, self.tenancy_json)

    def render(self) -> bytes:
        """The JSON array of this domain's records, each with the tenancy."""
        return b"[" + b",".join(self.record_with_tenancy(i)
                                for i in range(len(self.records))) + b"]"


class History:
    """uuid -> Ring, for the last ``seconds`` at one record per ``interval``."""

    def __init__(self, seconds: float, interval: float) -> None:
        self.seconds = seconds
        self.interval = interval
        self.capacity = max(1, math.ceil(seconds / interval) + 1) if interval > 0 else 60
        self._rings: Mapping[str, Ring] = MappingProxyType({})
        self._lock = threading.Lock()  # writers only: the sampler and the light loop

    @property
    def rings(self) -> Mapping[str, Ring]:
        return self._rings

    def on_snapshot(self, snap: Snapshot) -> None:
        """Add one record per domain of a snapshot (none while libvirt is down)."""
        if snap.libvirt_up:
            self.add(snap.collected_at, ((s, snap.tenancy_of(s.uuid)) for s in snap.samples))
        else:
            self.add(snap.collected_at, ())

    def add(self, timestamp: float, samples: Iterable[tuple[DomainSample, model.Tenancy]]
            ) -> None:
        """Record ``samples`` taken at ``timestamp``; drop what left the window."""
        oldest = timestamp - self.seconds
        with self._lock:
            old = self._rings
            rings: dict[str, Ring] = {}
            for sample, tenancy in samples:
                rings[sample.uuid] = self._append(old.get(sample.uuid), sample, tenancy,
                                                  timestamp, oldest)
            for uuid, ring in old.items():
                if uuid not in rings and ring.timestamps[-1] >= oldest:
                    rings[uuid] = self._trim(ring, oldest)
            self._rings = MappingProxyType(rings)

    def add_light(self, timestamp: float, samples: Iterable[DomainSample]) -> int:
        """Record light samples (the fast groups only) of domains that have a
        ring, the other groups carried from their newest record; how many."""
        oldest = timestamp - self.seconds
        added = 0
        with self._lock:
            rings = dict(self._rings)
            for sample in samples:
                ring = rings.get(sample.uuid)
                if ring is None or timestamp - ring.timestamps[-1] < self.interval / 2:
                    continue  # no tenancy known yet, or a full record is as recent
                fast = rest_json.dumps(rest_json.fast_dict(sample, timestamp))
                rings[sample.uuid] = self._push(ring, ring.tenancy_json, timestamp,
                                                (fast, ring.records[-1][1]), oldest)
                added += 1
            self._rings = MappingProxyType(rings)
        return added

    def _append(self, ring: Ring | None, sample: DomainSample, tenancy: model.Tenancy,
                timestamp: float, oldest: float) -> Ring:
        record = (rest_json.dumps(rest_json.fast_dict(sample, timestamp)),
                  rest_json.dumps(rest_json.slow_dict(sample)))
        if ring is not None and ring.records[-1][1] == record[1]:
            record = (record[0], ring.records[-1][1])  # share unchanged bytes
        if ring is None or ring.tenancy != tenancy or ring.name != sample.name:
            tenancy_json = rest_json.dumps(rest_json.tenancy_dict(tenancy))
            times, records = (ring.timestamps, ring.records) if ring else ((), ())
            return self._push(Ring(sample.name, tenancy, tenancy_json, times, records),
                              tenancy_json, timestamp, record, oldest)
        return self._push(ring, ring.tenancy_json, timestamp, record, oldest)

    def _push(self, ring: Ring, tenancy_json: bytes, timestamp: float,
              record: tuple[bytes, bytes], oldest: float) -> Ring:
        times, records = ring.timestamps, ring.records
        if times and timestamp - times[-1] < self.interval / 2:
            times, records = times[:-1], records[:-1]  # one record per interval
        keep = self.capacity - 1
        times = times[-keep:] if keep else ()
        records = records[-keep:] if keep else ()
        first = next((i for i, t in enumerate(times) if t >= oldest), len(times))
        return Ring(ring.name, ring.tenancy, tenancy_json,
                    times[first:] + (timestamp,), records[first:] + (record,))

    @staticmethod
    def _trim(ring: Ring, oldest: float) -> Ring:
        first = next((i for i, t in enumerate(ring.timestamps) if t >= oldest), 0)
        if first == 0:
            return ring
        return dataclasses.replace(ring, timestamps=ring.timestamps[first:],
                                   records=ring.records[first:])

    def render_all(self) -> bytes:
        """``{uuid: [record, ...], ...}`` for every domain with history."""
        rings = self._rings
        return b"{" + b",".join(rest_json.dumps(uuid) + b":" + rings[uuid].render()
                                for uuid in sorted(rings)) + b"}"

    def render_one(self, uuid: str) -> bytes | None:
        """One domain's records as a JSON array, or None if it has no history."""
        ring = self._rings.get(uuid)
        return None if ring is None else ring.render()
