"""Raise the soft open-file limit to the hard one, as Go programs do at start-up."""

from __future__ import annotations

import logging
import resource

LOG = logging.getLogger(__name__)


def raise_open_files() -> int:
    """Set RLIMIT_NOFILE's soft limit to its hard limit; the soft limit now.

    systemd gives services a soft limit of 1024 and a much higher hard one
    (524288) on purpose: select()-based programs break above 1024, programs
    that use poll/epoll (we do) are expected to raise it themselves.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        LOG.warning("Could not raise the open-file limit from %d to %d: %s",
                    soft, hard, exc)
        return soft
    return hard
