"""The bench's option tables, turned into argparse options (no libvirt needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.perf import bench, options


def test_a_table_gives_typed_options_switches_and_choices() -> None:
    parser = argparse.ArgumentParser(formatter_class=options.FORMATTER)
    options.add(parser, {"--count": (3, "how many"), "--ratio": (0.5, "how much"),
                         "--names": ("a,b", "which"), "--path": (Path, "where"),
                         "--fast": (False, "hurry"), "--mode": (("one", "two"), "how")})
    assert vars(parser.parse_args([])) == {
        "count": 3, "ratio": 0.5, "names": "a,b", "path": None, "fast": False, "mode": "one"}
    args = parser.parse_args(["--count", "4", "--ratio", "2", "--path", "/x", "--fast",
                              "--mode", "two"])
    assert (args.count, args.ratio, args.path, args.fast, args.mode) == (
        4, 2.0, Path("/x"), True, "two")
    assert type(args.ratio) is float
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "three"])
    assert "how many (default: 3)" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("mode", ["real", "testdriver", "fleet", "http"])
def test_every_mode_renders_its_help_with_the_defaults(mode: str, capsys) -> None:
    with pytest.raises(SystemExit):
        bench.parser().parse_args([mode, "--help"])
    assert "(default: " in capsys.readouterr().out
