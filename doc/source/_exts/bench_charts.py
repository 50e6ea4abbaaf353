"""Draw the benchmark charts (tests/perf/charts.py) from doc/source/_data at build time.

The SVGs go to doc/source/_generated (not committed); performance.rst
embeds them. A data file the charts cannot read fails the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

LOG = logging.getLogger(__name__)


def draw(app: Sphinx) -> None:
    from tests.perf import charts  # conf.py puts the repository on sys.path

    source = Path(app.srcdir)
    files = sorted((source / "_data").glob("*.json"))
    for path in charts.draw(files, source / "_generated"):
        LOG.info("bench_charts: %s", path.relative_to(source))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", draw)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
