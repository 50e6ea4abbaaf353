"""A naming profile adds no libvirt call: the same calls per collection in every profile.

Counted with tests/perf/calls.py (every virConnect and virDomain method of
libvirt-python) on a test-driver node, after the warm-up collection that
reads each domain's XML once.
"""

from __future__ import annotations

from tests import fixtures
from tests.perf import calls


def test_every_profile_makes_the_seed_profiles_calls() -> None:
    node = fixtures.TEST_NODE
    seed, _ = calls.per_collection(node, 2)
    assert seed["virConnect.getAllDomainStats"] == 1
    assert not [c for c in seed if "XMLDesc" in c or "metadata" in c], seed
    for name, overrides in calls.CONFIGS.items():
        assert calls.per_collection(node, 2, **overrides)[0] == seed, name
