"""Render a profile: the seed families renamed, relabelled and rescaled, plus its own.

Runs where the per-VM exposition is rendered once per snapshot
(:meth:`enricher.exporters.exposition.MetricsApp.prepare`), so a profile
costs nothing per scrape. The seed profile passes every family through
untouched: its bytes are today's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

from enricher.exporters import catalog
from enricher.exporters.profiles import derive
from enricher.exporters.profiles.model import Derived, Mapped, Profile
from enricher.sampler import Snapshot


def _metric(name: str, type_: str, help_: str) -> tuple[Metric, str]:
    """An empty family and the name its samples carry."""
    base = name[:-len("_total")] if type_ == catalog.COUNTER and name.endswith("_total") \
        else name
    return Metric(base, help_, type_), name


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """How one catalog family's samples become a profile family's."""

    entry: Mapped
    type: str
    help: str
    scale: float
    drop: frozenset[str]
    rename: Mapping[str, str]
    keep: frozenset[str] | None

    def apply(self, source: Metric) -> Metric:
        out, sample_name = _metric(self.entry.name, self.type, self.help)
        where, values = self.entry.where, self.entry.values
        drop, rename, keep, scale = self.drop, self.rename, self.keep, self.scale
        append = out.samples.append
        for sample in source.samples:
            labels = sample.labels
            if where and any(labels.get(k) != v for k, v in where.items()):
                continue
            new = {}
            for key, value in labels.items():
                if key in drop:
                    continue
                if key in values:
                    value = values[key].get(value, value)
                key = rename.get(key, key)
                if keep is None or key in keep:
                    new[key] = value
            append(Sample(sample_name, new,
                          sample.value if scale == 1 else sample.value * scale))
        return out


class ProfileRenderer:
    """The families of one profile, for one set of tenant labels."""

    def __init__(self, profile: Profile, tenant_labels: Sequence[str],
                 optional: bool = False) -> None:
        self.profile = profile
        self._tenant_labels = tuple(tenant_labels)
        self._optional = optional
        self._plans: dict[str, list[_Plan]] = {}
        for entry in profile.families or ():
            if isinstance(entry, Mapped):
                self._plans.setdefault(entry.key, []).append(self._plan(entry))

    def _plan(self, entry: Mapped) -> _Plan:
        spec = catalog.get(entry.key)  # KeyError: the table names no catalog family
        type_ = entry.type or spec.type
        if (type_ == catalog.COUNTER) != entry.name.endswith("_total"):
            raise ValueError("%s: counters, and only counters, end in _total" % entry.name)
        drop = set(entry.where)
        if spec.per_vm:
            drop |= set(catalog.DOMAIN_LABELS) - set(self.profile.domain_labels)
        drop -= set(entry.labels)
        rename = {**self.profile.label_renames, **entry.labels}
        return _Plan(entry, type_, entry.help or spec.help, entry.scale,
                     frozenset(drop), rename,
                     frozenset(entry.keep) if entry.keep is not None else None)

    def base_labels(self) -> tuple[str, ...]:
        """The labels every per-VM series of the profile starts with."""
        return (*self.profile.domain_labels, *self._tenant_labels)

    def families(self, snapshot: Snapshot, rendered: Iterable[Metric]) -> Iterator[Metric]:
        """The profile's families from the seed-rendered ones of ``snapshot``."""
        if self.profile.families is None:
            yield from rendered
            if self._optional:
                for entry in self.profile.optional:
                    yield self._derived(entry, snapshot)
            return
        by_key = {}
        for metric in rendered:
            key = metric.name + "_total" if metric.type == catalog.COUNTER else metric.name
            if key in self._plans:
                by_key[key] = metric
        used: dict[str, int] = {}
        for entry in self.profile.families:
            if isinstance(entry, Derived):
                derived = self._derived(entry, snapshot)
                if derived.samples or not entry.per_vm:
                    yield derived
                continue
            source = by_key.get(entry.key)
            if source is None:
                continue
            index = used[entry.key] = used.get(entry.key, -1) + 1
            mapped = self._plans[entry.key][index].apply(source)
            if mapped.samples or not source.samples:
                yield mapped

    def _derived(self, entry: Derived, snapshot: Snapshot) -> Metric:
        out, sample_name = _metric(entry.name, entry.type, entry.help)
        names = (*self.base_labels(), *entry.labels) if entry.per_vm else entry.labels
        domain_fields = self.profile.domain_labels
        tenant = self._tenant_labels
        append = out.samples.append
        for sample, values, value in derive.DERIVATIONS[entry.derive](snapshot):
            if sample is not None:
                fields = {"domain": sample.name, "uuid": sample.uuid}
                tenancy = snapshot.tenancy_of(sample.uuid)
                values = (*(fields[f] for f in domain_fields),
                          *(tenancy.label_value(f) for f in tenant), *values)
            append(Sample(sample_name, dict(zip(names, values, strict=True)), value))
        return out
