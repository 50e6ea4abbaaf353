"""Hypothesis settings profiles, registered once for every test directory.

``ci`` (the default): 500 examples per property, no deadline (a busy CI host
must not fail a property on time), derandomized and without an example
database, so that every run tries the same examples and a failure in CI
reproduces byte for byte on a laptop. ``explore`` (``HYPOTHESIS_PROFILE=explore``)
is for hunting: random seeds, 5000 examples, the local example database.
``dev`` runs 50 examples for a quick edit-test loop.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 500

settings.register_profile(
    "ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "explore", max_examples=5000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None, derandomize=True,
                          database=None)


def load() -> str:
    """Load the profile HYPOTHESIS_PROFILE names (``ci`` when unset); return its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    settings.load_profile(name)
    return name
