"""What a naming profile is: data over the metric catalog.

A profile lists, in exposition order, the families it exports. A
:class:`Mapped` entry takes one catalog family (by its key) and gives it
another exporter's name, type, unit scale and label names; a
:class:`Derived` entry is a family only the profile has, filled by a named
derivation of :mod:`enricher.exporters.profiles.derive` from the same
snapshot. Catalog families a profile does not list are not exported in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

_EMPTY: Mapping = MappingProxyType({})


def _empty() -> Mapping:
    return _EMPTY


@dataclasses.dataclass(frozen=True, slots=True)
class Mapped:
    """One catalog family under a profile's name."""

    key: str  # the catalog key (the seed name)
    name: str  # as exported; counters end in _total
    type: str = ""  # "" keeps the catalog's type
    scale: float = 1  # on top of the catalog's: e.g. 1000 for seconds -> milliseconds
    # Catalog label -> profile label.
    labels: Mapping[str, str] = dataclasses.field(default_factory=_empty)
    keep: tuple[str, ...] | None = None  # the only labels kept (profile names), if given
    # Only the series with these catalog label values; those labels are then dropped.
    where: Mapping[str, str] = dataclasses.field(default_factory=_empty)
    # Label values renamed: catalog label -> {catalog value: profile value}.
    values: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=_empty)
    extra_labels: tuple[str, ...] = ()  # our labels beyond the other exporter's (documented)
    help: str = ""  # "" keeps the catalog's HELP


@dataclasses.dataclass(frozen=True, slots=True)
class Derived:
    """A family only the profile has, filled by a derivation from the snapshot."""

    name: str
    type: str
    help: str
    derive: str  # the derivation's name in profiles.derive.DERIVATIONS
    labels: tuple[str, ...] = ()  # after the profile's per-VM labels when per_vm
    per_vm: bool = True
    extra_labels: tuple[str, ...] = ()  # our labels beyond the other exporter's (documented)


Entry = Mapped | Derived


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    """A naming profile: which families, under which names and labels."""

    name: str
    description: str
    # None: every rendered family as the catalog names it (the seed profile).
    families: tuple[Entry, ...] | None
    # Labels that every per-VM series starts with, before the tenant labels.
    domain_labels: tuple[str, ...] = ("domain", "uuid")
    # Renames applied to every mapped family's labels (per-entry ones win).
    label_renames: Mapping[str, str] = dataclasses.field(default_factory=_empty)
    # Families appended in the seed profile (families is None) when asked for.
    optional: tuple[Derived, ...] = ()

    def entries(self) -> tuple[Entry, ...]:
        return self.families if self.families is not None else self.optional
