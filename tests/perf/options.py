"""The bench modes' command-line options, declared as tables: ``{flag: (default, help)}``.

The default gives the option's type (``int``, ``float``, ``str``); ``False``
makes a switch; a type instead of a default (``float``, ``str``, ``Path``) an
option without one; a tuple of strings the choices, the first the default.
``--help`` shows every default, so the help texts do not repeat them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

Table = Mapping[str, tuple[object, str]]
FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def add(parser: argparse.ArgumentParser, table: Table) -> None:
    """Add every option of ``table`` to ``parser``."""
    for flag, (default, text) in table.items():
        if default is False:
            parser.add_argument(flag, action="store_true", help=text)
        elif isinstance(default, type):
            parser.add_argument(flag, type=default, help=text)
        elif isinstance(default, tuple):
            parser.add_argument(flag, choices=default, default=default[0], help=text)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=text)
