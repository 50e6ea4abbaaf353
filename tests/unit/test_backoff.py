"""Back-off delays grow, are capped, jittered, and reset."""

import pytest

from enricher.backoff import Backoff


def test_backoff_grows_with_jitter_and_resets():
    backoff = Backoff(base=1.0, maximum=10.0, jitter=0.5, rand=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    full = Backoff(base=1.0, maximum=10.0, rand=lambda: 0.0)
    assert [full.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    for _ in range(5000):
        assert full.next_delay() == 10.0
    with pytest.raises(ValueError):
        Backoff(base=0)
