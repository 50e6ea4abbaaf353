"""``python -m enricher.exporters.grafana [DASHBOARD_DIR [QUERY_TABLE]]``."""

from __future__ import annotations

import sys
from pathlib import Path

from enricher.exporters import grafana

ROOT = Path(__file__).resolve().parents[3]


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else ROOT / "etc" / "grafana" / "dashboards"
    table = Path(argv[1]) if len(argv) > 1 else ROOT / "doc" / "source" / "dashboard-queries.inc"
    for path in grafana.write(directory, table):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
