"""Settings for every test directory: the Hypothesis profile (tests/hypothesis_profiles.py)."""

from tests import hypothesis_profiles

hypothesis_profiles.load()
