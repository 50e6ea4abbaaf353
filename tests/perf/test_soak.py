"""CI's short soak: 20 scrapers for 60 s against 1000 test-driver domains.

100 event streams open throughout, 10 s of REST API history (it fills during
the warm-up). No failed scrape or ended stream, RSS growth after the warm-up
under 10 % (the long form's bound is 5 %), no thread left once the scrapers
are gone (``bench soak`` exits 1 otherwise). The long form, and its figures,
are in doc/source/robustness.rst.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_soak_is_flat_and_loses_nothing() -> None:
    argv = [sys.executable, "-m", "tests.perf.bench", "soak", "--domains", "1000",
            "--scrapers", "20", "--seconds", "60", "--history-seconds", "10",
            # 60 s cannot tell the allocator settling from growth (5.03 % and 5.38 % in
            # two runs): CI bounds it at 10 %; the 10 min long form checks the 5 %.
            "--max-growth", "10"]
    result = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=400, check=False)
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output[-4000:]
    assert "soak: 1000 test-driver domains" in result.stdout
