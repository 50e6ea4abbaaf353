"""Request labels and secret scrubbing of the Keystone sessions."""

from __future__ import annotations

import pytest

from enricher.tenancy import keystone


@pytest.mark.parametrize("url, endpoint", [
    ("https://keystone:5000/v3/auth/tokens", "auth"),
    ("https://keystone:5000/v3", "discovery"),
    ("https://nova:8774/v2.1/servers/detail?host=a", "servers"),
    ("https://nova:8774/v2.1/flavors/7", "flavors"),
    ("https://cloud/identity/v3/projects/abc", "projects"),
    ("https://cloud/identity/v3/users/abc", "users"),
    ("https://cloud/compute/v2.1/os-hypervisors/detail", "hypervisors"),
    ("https://cloud/compute/v2.1/", "discovery"),
])
def test_endpoint_labels(url, endpoint):
    assert keystone.endpoint_of(url) == endpoint


def test_every_secret_is_scrubbed():
    credentials = keystone.from_session(lambda: None, region_name=None,
                                        interfaces=["public"],
                                        secrets=["s3cret", None, "", "t0ken"])
    assert credentials.secrets == ("s3cret", "t0ken")
    assert credentials.scrub("user:s3cret token=t0ken t0ken") == \
        "user:*** token=*** ***"
